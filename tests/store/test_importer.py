import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import OperationalError

import store
from store import importer

MEMBERS_CSV = """\
会员编号,入会日期,生日,性别,门店
C001,2024-01-05,1990-03-04,女,S01
C002,2024-02-10,,M,S02
C003,2024-03-01,1985-12-31,U,
"""

TX_CSV = """\
单号,会员编号,日期,金额,优惠
X1,C001,2024-01-05,100.00,0
X2,C001,2024-06-01,250.50,10.50
X3,C002,2024-02-10,80,
"""

MEMBER_MAP = {
    "会员编号": "member_id",
    "入会日期": "join_date",
    "生日": "birthday",
    "性别": "gender",
}
TX_MAP = {"单号": "transaction_id", "会员编号": "member_id", "日期": "date", "金额": "amount"}


@pytest.fixture
def url(db_url):
    store.ensure_database(db_url, load_sample=False)
    return db_url


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(tmp_path, url, members=MEMBERS_CSV, tx=TX_CSV, **kwargs):
    kwargs.setdefault("member_mapping", {**MEMBER_MAP, "门店": "home_store"})
    kwargs.setdefault("transaction_mapping", {**TX_MAP, "优惠": "discount"})
    return store.import_client_data(
        write(tmp_path, "members.csv", members) if members is not None else None,
        write(tmp_path, "tx.csv", tx) if tx is not None else None,
        url=url,
        **kwargs,
    )


def test_a_clean_import_with_a_column_mapping(tmp_path, url):
    report = run(tmp_path, url)
    assert report.ok, importer.format_report(report)
    assert report.rows_read == {"members": 3, "transactions": 3}
    assert report.rows_loaded == {"members": 3, "transactions": 3}
    members = store.members(url).set_index("member_id")
    assert members.loc["C001", "gender"] == "F"
    assert pd.isna(members.loc["C002", "birthday"])
    assert pd.isna(members.loc["C003", "home_store"])
    tx = store.transactions(url=url).set_index("transaction_id")
    assert tx.loc["X2", "net_amount"] == pytest.approx(240.0)
    assert tx.loc["X3", "discount"] == 0.0
    assert "Import succeeded" in importer.format_report(report)


def test_every_bad_cell_is_reported_by_line_and_nothing_is_written(tmp_path, url):
    members = MEMBERS_CSV + "C004,2024-13-01,,X,S01\n,2024-01-01,,F,S01\nC001,2024-01-05,,F,S01\n"
    tx = (
        TX_CSV
        + "X4,C001,2024-07-01,-5,0\n"  # line 5: negative amount
        + "X5,C001,yesterday,10,0\n"  # line 6: not a date
        + "X6,C999,2024-07-01,10,0\n"  # line 7: unknown member
        + "X1,C002,2024-07-02,12,0\n"  # line 8: transaction id reused
        + "X7,C001,2024-07-03,inf,0\n"  # line 9: not finite
        + "X8,C001,2024-07-03,abc,0\n"  # line 10: not a number
    )
    report = run(tmp_path, url, members=members, tx=tx)
    assert not report.ok
    found = {(e.table, e.line, e.column) for e in report.errors}
    assert found >= {
        ("members", 5, "join_date"),
        ("members", 5, "gender"),
        ("members", 6, "member_id"),
        ("members", 7, "member_id"),
        ("transactions", 5, "amount"),
        ("transactions", 6, "date"),
        ("transactions", 8, "transaction_id"),
        ("transactions", 9, "amount"),
        ("transactions", 10, "amount"),
    }
    by_place = {(e.table, e.line, e.column): e for e in report.errors}
    assert by_place[("transactions", 6, "date")].value == "yesterday"
    assert "2024-03-31" in by_place[("transactions", 6, "date")].message
    assert "already used on line 2" in by_place[("transactions", 8, "transaction_id")].message
    assert "line 2" in by_place[("members", 7, "member_id")].message
    assert by_place[("transactions", 5, "amount")].message == "amount must be >= 0"
    text = importer.format_report(report)
    assert "nothing was written" in text
    assert "transactions line 6, column date (value: 'yesterday')" in text
    assert len(store.members(url)) == 0
    assert len(store.transactions(url=url)) == 0


def test_unknown_members_are_refused_once_the_file_is_otherwise_clean(tmp_path, url):
    report = run(tmp_path, url, tx=TX_CSV + "X6,C999,2024-07-01,10,0\n")
    assert not report.ok
    assert [(e.line, e.column, e.value) for e in report.errors] == [(5, "member_id", "C999")]
    assert "unknown member" in report.errors[0].message
    assert len(store.members(url)) == 0


def test_exact_duplicate_rows(tmp_path, url):
    report = run(tmp_path, url, tx=TX_CSV + "X2,C001,2024-06-01,250.50,10.50\n")
    assert [(e.line, e.message) for e in report.errors] == [(5, "exact duplicate of line 3")]


def test_missing_columns_and_bad_mappings(tmp_path, url):
    report = run(tmp_path, url, transaction_mapping={"单号": "transaction_id", "金额": "amount"})
    messages = [e.message for e in report.errors if e.table == "transactions"]
    assert any("required column 'member_id' is missing" in m for m in messages)
    assert any("required column 'date' is missing" in m for m in messages)
    assert all(e.line == 1 for e in report.errors)
    report = run(tmp_path, url, member_mapping={"编号": "member_id", "入会日期": "joined"})
    messages = [e.message for e in report.errors]
    assert any("'编号' is not in the file" in m for m in messages)
    assert any("'joined' is not one of our columns" in m for m in messages)


def test_adding_to_existing_data(tmp_path, url):
    assert run(tmp_path, url).ok
    more = "单号,会员编号,日期,金额\nX9,C003,2024-08-01,40\n"
    report = run(tmp_path, url, members=None, tx=more, transaction_mapping=TX_MAP)
    assert report.ok, importer.format_report(report)
    assert len(store.transactions(url=url)) == 4
    again = run(tmp_path, url, members=None, tx=more, transaction_mapping=TX_MAP)
    assert not again.ok
    assert "already in the database" in again.errors[0].message
    assert len(store.transactions(url=url)) == 4


def test_replace_swaps_the_sample_for_the_client_data(tmp_path, db_url, sample_folder):
    store.ensure_database(db_url, sample_folder=sample_folder)
    assert len(store.members(db_url)) == 3
    report = run(tmp_path, db_url, replace=True)
    assert report.ok, importer.format_report(report)
    assert sorted(store.members(db_url)["member_id"]) == ["C001", "C002", "C003"]
    assert len(store.ledger(url=db_url)) == 0
    # The sample is not loaded again over the client's data.
    assert store.ensure_database(db_url, sample_folder=sample_folder) == {}


def test_dry_run_checks_without_writing(tmp_path, url):
    report = run(tmp_path, url, dry_run=True)
    assert report.ok
    assert report.rows_loaded == {}
    assert "dry run" in importer.format_report(report)
    assert len(store.members(url)) == 0


def test_parquet_and_frames(tmp_path, url):
    members = pd.DataFrame(
        {"member_id": ["P1", "P2"], "join_date": pd.to_datetime(["2024-01-01", "2024-02-01"])}
    )
    members.to_parquet(tmp_path / "members.parquet")
    tx = pd.DataFrame(
        {
            "transaction_id": ["Q1", "Q2"],
            "member_id": ["P1", "P2"],
            "date": pd.to_datetime(["2024-03-01", "2024-01-15"]),
            "amount": [12.5, float("nan")],
        }
    )
    report = store.import_client_data(tmp_path / "members.parquet", tx, url=url)
    assert not report.ok
    assert [(e.table, e.line, e.column) for e in report.errors] == [("transactions", 2, "amount")]
    assert "transactions row 2, column amount" in importer.format_report(report)
    tx.loc[1, "amount"] = 7.0
    report = store.import_client_data(tmp_path / "members.parquet", tx, url=url)
    assert report.ok
    assert any("before the member's join_date" in w for w in report.warnings)
    assert store.transactions(url=url)["amount"].sum() == pytest.approx(19.5)


def test_a_database_failure_midway_leaves_nothing(tmp_path, url, monkeypatch):
    real = importer.load_tables

    def members_then_fail(conn, tables):
        real(conn, {"members": tables["members"]})
        raise OperationalError("INSERT", {}, RuntimeError("disk full"))

    monkeypatch.setattr(importer, "load_tables", members_then_fail)
    report = run(tmp_path, url)
    assert not report.ok
    assert "disk full" in report.errors[0].message
    assert len(store.members(url)) == 0


def test_unreadable_files(tmp_path, url):
    report = store.import_client_data(tmp_path / "missing.csv", url=url)
    assert "file not found" in report.errors[0].message
    (tmp_path / "members.xlsx").write_bytes(b"x")
    report = store.import_client_data(tmp_path / "members.xlsx", url=url)
    assert "unsupported file type" in report.errors[0].message
    (tmp_path / "latin.csv").write_bytes(
        "member_id,join_date\nJos\xe9,2024-01-01\n".encode("latin-1")
    )
    report = store.import_client_data(tmp_path / "latin.csv", url=url, encoding="utf-8")
    assert not report.ok
    assert (report.errors[0].line, report.errors[0].value) == (2, "b'\\xe9,20'")
    assert "not valid utf-8 text" in report.errors[0].message
    assert len(store.members(url)) == 0


amounts = st.one_of(
    st.floats(min_value=0, max_value=1e6, allow_nan=False).map(lambda x: f"{x:.2f}"),
    st.sampled_from(["-1", "abc", "", "nan", "inf", "1e400", "-0.01"]),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(amounts, min_size=1, max_size=12))
def test_exactly_the_bad_amounts_are_reported(sqlite_url, values):
    store.ensure_database(sqlite_url, load_sample=False)
    members = pd.DataFrame({"member_id": ["M"], "join_date": ["2024-01-01"]})
    tx = pd.DataFrame(
        {
            "transaction_id": [f"T{i}" for i in range(len(values))],
            "member_id": "M",
            "date": "2024-02-01",
            "amount": values,
        }
    )
    report = store.import_client_data(members, tx, dry_run=True, url=sqlite_url)

    def valid(text):
        try:
            number = float(text)
        except ValueError:
            return False
        return number == number and abs(number) != float("inf") and number >= 0

    bad_rows = {i + 1 for i, v in enumerate(values) if not valid(v)}
    assert {e.line for e in report.errors} == bad_rows
    assert report.ok == (not bad_rows)
    assert len(store.members(sqlite_url)) == 0


# -- Input that used to land as wrong data -----------------------------------------------------

MEMBERS_PLAIN = "member_id,join_date\nM1,2024-01-01\nM2,2024-01-02\n"
TX_HEADER = "transaction_id,member_id,date,amount,discount,points_earned\n"


def plain(tmp_path, url, members=MEMBERS_PLAIN, tx=None, **kwargs):
    return store.import_client_data(
        write(tmp_path, "members.csv", members),
        write(tmp_path, "tx.csv", tx) if tx is not None else None,
        url=url,
        **kwargs,
    )


def places(report):
    return [(e.table, e.line, e.column, e.value) for e in report.errors]


def test_numbers_that_would_overflow_or_go_negative_are_row_errors(tmp_path, sqlite_url):
    store.ensure_database(sqlite_url, load_sample=False)
    tx = (
        TX_HEADER
        + "T1,M1,2024-02-01,10,0,1e30\n"  # line 2: points beyond a 32-bit INTEGER
        + "T2,M1,2024-02-01,10,20,0\n"  # line 3: discount larger than amount
        + "T3,M2,2024-02-01,1e15,0,0\n"  # line 4: beyond NUMERIC(14, 2)
        + "T4,M2,2024-02-01,10,0,3\n"  # line 5: fine
    )
    report = plain(tmp_path, sqlite_url, tx=tx)
    assert places(report) == [
        ("transactions", 4, "amount", "1e15"),
        ("transactions", 3, "discount", "20"),
        ("transactions", 2, "points_earned", "1e30"),
    ]
    messages = [e.message for e in report.errors]
    assert "at most 999,999,999,999.99" in messages[0]
    assert "larger than amount (=10)" in messages[1]
    assert "at most 2,147,483,647" in messages[2]
    assert len(store.members(sqlite_url)) == 0


def test_a_line_with_a_field_too_many_is_refused_not_shifted(tmp_path, sqlite_url):
    store.ensure_database(sqlite_url, load_sample=False)
    # pandas would take the first field of every line as an index: M1 joined "2024-01-01,X".
    members = "member_id,join_date\nM1,2024-01-01,X\nM2,2024-01-02\nM3,2024-01-03,,\n"
    report = plain(tmp_path, sqlite_url, members=members)
    assert places(report) == [("members", 2, "(field 3)", "X"), ("members", 4, "(field 3)", "")]
    assert "this line has 3 fields, the header has 2" in report.errors[0].message
    assert report.rows_read == {"members": 3}
    short = plain(tmp_path, sqlite_url, members="member_id,join_date,channel\nM1,2024-01-01\n")
    assert "this line has 2 fields, the header has 3" in short.errors[0].message
    assert len(store.members(sqlite_url)) == 0


def test_decimal_and_thousands_separators_are_options(tmp_path, sqlite_url):
    store.ensure_database(sqlite_url, load_sample=False)
    tx = TX_HEADER + 'T1,M1,2024-02-01,"12,34",0,0\nT2,M1,2024-02-01,"1.234,50","1,5",0\n'
    report = plain(tmp_path, sqlite_url, tx=tx)
    # Was 1234 and 1.23: never guess; say how the file must write numbers.
    assert places(report) == [
        ("transactions", 2, "amount", "12,34"),
        ("transactions", 3, "amount", "1.234,50"),
        ("transactions", 3, "discount", "1,5"),
    ]
    assert "'.' as the decimal separator" in report.errors[0].message
    assert "set the separators" in report.errors[0].message
    report = plain(tmp_path, sqlite_url, tx=tx, decimal=",", thousands=".")
    assert report.ok, importer.format_report(report)
    loaded = store.transactions(url=sqlite_url).set_index("transaction_id")
    assert loaded.loc["T1", "amount"] == pytest.approx(12.34)
    assert loaded.loc["T2", "amount"] == pytest.approx(1234.50)
    assert loaded.loc["T2", "net_amount"] == pytest.approx(1233.00)
    bad = plain(tmp_path, sqlite_url, tx=tx, decimal=",", thousands=",")
    assert "must differ" in bad.errors[0].message


@given(
    st.decimals(min_value=0, max_value=10**11, places=2, allow_nan=False, allow_infinity=False),
    st.sampled_from([(".", ","), (",", "."), (".", ""), (",", " "), (".", "'")]),
)
def test_numbers_read_back_exactly_in_every_convention(amount, separators):
    decimal, thousands = separators
    written = f"{amount:,.2f}".replace(",", "_").replace(".", decimal).replace("_", thousands)
    text = importer.TextFormat(decimal=decimal, thousands=thousands)
    parsed = importer.parse_numbers(pd.Series([written, f"{written}{decimal}5{decimal}"]), text)
    assert parsed.iloc[0] == pytest.approx(float(amount), abs=1e-9)
    assert pd.isna(parsed.iloc[1])


@pytest.mark.parametrize(
    "url_fixture", ["sqlite_url", pytest.param("pg_url", marks=pytest.mark.postgres)]
)
def test_values_must_fit_their_database_columns_in_the_dry_run(tmp_path, request, url_fixture):
    url = request.getfixturevalue(url_fixture)
    store.ensure_database(url, load_sample=False)
    header = "transaction_id,member_id,date,amount,points_earned,channel,campaign_ids\n"
    widest = f"{'T' * 64},M1,2024-02-01,999999999999.99,2147483647,{'c' * 16},{'k' * 255}\n"
    too_wide = f"{'T' * 65},M1,2024-02-01,1000000000000,2147483648,{'c' * 17},{'k' * 256}\n"
    report = plain(tmp_path, url, tx=header + widest + too_wide, dry_run=True)
    assert [(e.line, e.column) for e in report.errors] == [
        (3, "transaction_id"),
        (3, "amount"),
        (3, "points_earned"),
        (3, "channel"),
        (3, "campaign_ids"),
    ]
    assert "longer than 16 characters" in report.errors[3].message
    # What the dry run passes, the database takes (PostgreSQL refused these before).
    report = plain(tmp_path, url, tx=header + widest)
    assert report.ok, importer.format_report(report)
    loaded = store.transactions(url=url)
    assert loaded["amount"].iloc[0] == pytest.approx(999999999999.99)
    assert int(loaded["points_earned"].iloc[0]) == 2147483647


def test_blank_lines_and_quoted_newlines_keep_line_numbers(tmp_path, sqlite_url):
    store.ensure_database(sqlite_url, load_sample=False)
    members = (
        "member_id,join_date,home_store\n"
        'M1,2024-01-01,"Store\nwith a two-line name"\n'  # lines 2-3
        "\n"  # line 4: blank
        "M2,not-a-date,S1\n"  # line 5
        ",,\n"  # line 6: an empty record
        "\n\n"
    )
    report = plain(tmp_path, sqlite_url, members=members)
    assert places(report) == [("members", 5, "join_date", "not-a-date")]
    assert any("blank line(s) skipped (first: line 4)" in w for w in report.warnings)
    fixed = members.replace("not-a-date", "2024-02-01")
    report = plain(tmp_path, sqlite_url, members=fixed)
    assert report.ok, importer.format_report(report)
    assert report.rows_loaded == {"members": 2}


def test_far_future_dates_and_bad_date_formats_are_errors_not_crashes(tmp_path, sqlite_url):
    store.ensure_database(sqlite_url, load_sample=False)
    members = "member_id,join_date,birthday\nM1,2999-01-01,1899-12-31\nM2,2024-01-01,\n"
    report = plain(tmp_path, sqlite_url, members=members)
    assert places(report) == [
        ("members", 2, "join_date", "2999-01-01"),
        ("members", 2, "birthday", "1899-12-31"),
    ]
    assert "in the future" in report.errors[0].message
    for date_format, expected in (("%Q", "bad directive"), ("%Y-%m", "year, month and day")):
        report = plain(tmp_path, sqlite_url, date_format=date_format)
        assert not report.ok
        assert expected in report.errors[0].message
        assert report.errors[0].value == ""
        assert date_format in report.errors[0].message
    report = plain(tmp_path, sqlite_url, members=MEMBERS_PLAIN.replace("2024-01-02", "02/01/2024"),
                   date_format="%d/%m/%Y")  # fmt: skip
    assert places(report) == [("members", 2, "join_date", "2024-01-01")]
    assert "like 31/03/2024" in report.errors[0].message
    assert len(store.members(sqlite_url)) == 0


GBK_MEMBERS = "会员编号,入会日期,门店\nC001,2024-01-05,南京东路店\nC002,2024-02-10,静安寺店\n"


def test_gbk_files_are_detected_or_read_in_the_encoding_given(tmp_path, sqlite_url):
    store.ensure_database(sqlite_url, load_sample=False)
    path = tmp_path / "members.csv"
    path.write_bytes(GBK_MEMBERS.encode("gbk"))
    mapping = {"会员编号": "member_id", "入会日期": "join_date", "门店": "home_store"}
    report = store.import_client_data(path, member_mapping=mapping, url=sqlite_url, dry_run=True)
    assert report.ok, importer.format_report(report)
    assert any("read as gb18030 (detected" in w for w in report.warnings)
    report = store.import_client_data(
        path, member_mapping=mapping, url=sqlite_url, encoding="gb18030"
    )
    assert report.ok and not report.warnings
    assert sorted(store.members(sqlite_url)["home_store"]) == ["南京东路店", "静安寺店"]
    wrong = store.import_client_data(path, member_mapping=mapping, url=sqlite_url, encoding="utf-8")
    assert wrong.errors[0].line == 1
    assert "GB18030" in wrong.errors[0].message
    unknown = store.import_client_data(path, url=sqlite_url, encoding="klingon")
    assert "(='klingon') is not an encoding" in unknown.errors[0].message
