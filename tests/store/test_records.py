import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import store
from policies import content_id
from store.records import SCENARIO_NAME_MAX, validate_scenario_name


@pytest.fixture
def url(db_url):
    store.ensure_database(db_url, load_sample=False)
    return db_url


def test_scenario_round_trip(url, policy):
    saved = store.save_scenario(
        "Gold at 8000", policy, note="cheaper Gold", assumptions={"uplift": 0.1}, url=url
    )
    assert saved.policy_id == content_id(policy)
    loaded = store.scenario_record("Gold at 8000", url=url)
    assert content_id(loaded.policy) == content_id(policy)
    assert loaded.assumptions == {"uplift": 0.1}
    assert loaded.note == "cheaper Gold"
    assert content_id(store.load_scenario("Gold at 8000", url=url)) == content_id(policy)
    listing = store.list_scenarios(url)
    assert list(listing["name"]) == ["Gold at 8000"]
    assert listing.loc[0, "policy_id"] == content_id(policy)


def test_saving_again_replaces_and_keeps_the_creation_time(url, policy):
    first = store.save_scenario("A", policy, note="v1", url=url)
    second = store.save_scenario("  A ", policy, note="v2", url=url)
    assert second.created_at == first.created_at
    assert second.updated_at >= first.updated_at
    assert store.scenario_record("A", url=url).note == "v2"
    assert len(store.list_scenarios(url)) == 1
    with pytest.raises(store.ScenarioExistsError, match="pick another name"):
        store.save_scenario("A", policy, overwrite=False, url=url)


def test_delete_and_missing_scenarios(url, policy):
    store.save_scenario("金卡门槛 8000", policy, url=url)
    with pytest.raises(store.ScenarioNotFoundError, match="金卡门槛 8000"):
        store.load_scenario("Gold", url=url)
    assert store.delete_scenario("金卡门槛 8000", url=url) is True
    assert store.delete_scenario("金卡门槛 8000", url=url) is False
    assert len(store.list_scenarios(url)) == 0


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * (SCENARIO_NAME_MAX + 1), "limit is 100"),
        ("two\nlines", "line break"),
        (42, "must be text"),
    ],
)
def test_bad_scenario_names_are_explained(name, message):
    with pytest.raises(ValueError, match=message):
        validate_scenario_name(name)


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=SCENARIO_NAME_MAX))
def test_valid_names_are_stable(name):
    try:
        cleaned = validate_scenario_name(name)
    except ValueError:
        return
    assert validate_scenario_name(cleaned) == cleaned
    assert 1 <= len(cleaned) <= SCENARIO_NAME_MAX


def test_assumptions_must_be_plain_json(url, policy):
    with pytest.raises(ValueError, match="assumptions"):
        store.save_scenario("A", policy, assumptions={"x": float("nan")}, url=url)
    assert len(store.list_scenarios(url)) == 0


def test_simulation_runs(url, policy):
    pid = content_id(policy)
    first = store.record_simulation_run(
        pid, {"months": 12, "replications": 5}, 42, {"revenue": {"p50": 1.5e6}}, "A", url=url
    )
    big_seed = 2**100 + 7
    second = store.record_simulation_run(pid, {"months": 24}, big_seed, {}, url=url)
    runs = store.list_simulation_runs(url)
    assert list(runs["id"]) == [second, first]
    assert runs.loc[1, "seed"] == 42
    assert runs.loc[0, "seed"] == big_seed
    assert runs.loc[1, "inputs"] == {"months": 12, "replications": 5}
    run = store.get_simulation_run(first, url=url)
    assert run["results"] == {"revenue": {"p50": 1.5e6}}
    assert run["scenario_name"] == "A"
    assert run["code_version"]
    with pytest.raises(KeyError):
        store.get_simulation_run(999, url=url)
    with pytest.raises(ValueError, match="policy content id"):
        store.record_simulation_run("abc", {}, 1, {}, url=url)
    with pytest.raises(ValueError, match="results"):
        store.record_simulation_run(pid, {}, 1, {"x": float("inf")}, url=url)
    assert len(store.list_simulation_runs(url, policy_id=pid)) == 2


def test_publications_are_append_only_with_an_audit(url, policy):
    assert store.record_publication(1, policy, published_by="li", note="launch", url=url) == 1
    changed = policy.model_copy(update={})
    store.record_publication(2, changed, published_by="wang", note="tweak", diff="x", url=url)
    with pytest.raises(store.StalePublicationError, match="latest recorded version is 2"):
        store.record_publication(2, policy, url=url)
    with pytest.raises(ValueError, match="restored_from"):
        store.record_publication(3, policy, action="rollback", url=url)
    store.record_publication(
        3, policy, action="rollback", restored_from=1, diff=["a", "b"], url=url
    )
    history = store.list_publications(url)
    assert list(history["version"]) == [1, 2, 3]
    assert history.loc[2, "restored_from"] == 1
    assert (history["checksum"] == content_id(policy)).all()
    audit = store.publication_audit(url)
    assert list(audit["action"]) == ["publish", "publish", "rollback"]
    assert audit["from_version"].tolist()[1:] == [1, 2]
    assert audit.loc[2, "diff"] == "a\nb"
    assert content_id(store.load_publication(3, url=url)) == content_id(policy)
    with pytest.raises(ValueError, match="does not match"):
        store.record_publication(4, policy, checksum="0" * 64, url=url)


def test_concurrent_publishers_cannot_both_win(url, policy):
    store.record_publication(1, policy, url=url)
    barrier = threading.Barrier(4)

    def publish(_):
        barrier.wait()
        try:
            store.record_publication(2, policy, url=url)
            return "won"
        except store.StalePublicationError:
            return "stale"

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(publish, range(4)))
    assert sorted(outcomes) == ["stale", "stale", "stale", "won"]
    assert list(store.list_publications(url)["version"]) == [1, 2]
    assert len(store.publication_audit(url)) == 2


def test_concurrent_scenario_writers(url, policy):
    def save(i):
        for j in range(5):
            store.save_scenario(f"s{i}-{j}", policy, url=url)
            store.record_simulation_run(content_id(policy), {"i": i}, j, {}, url=url)

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(save, range(6)))
    assert len(store.list_scenarios(url)) == 30
    assert len(store.list_simulation_runs(url)) == 30
