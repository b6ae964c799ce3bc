"""The MemberLab database: membership data, scenarios, simulation runs and publications.

SQLAlchemy 2 models (`store.models`) migrated by Alembic (``store/migrations``); the URL
comes from `policies.settings` (``DATABASE_URL``: PostgreSQL or SQLite; default: a SQLite
file in the data folder). Call `ensure_database` once at start-up: it migrates and, on an
empty database, loads the shipped sample program.

Reading (pandas DataFrames): `members`, `transactions`, `ledger`, `campaigns_run`,
`member_snapshot`. Workbench records: scenarios (`save_scenario`, `list_scenarios`,
`load_scenario`, `delete_scenario`), simulation runs (`record_simulation_run`,
`list_simulation_runs`) and publications (`record_publication`, `list_publications`,
`publication_audit`). A client's own data comes in through `import_client_data`, which
checks every row and loads all or nothing.
"""

from store.db import (
    dispose_engines,
    ensure_database,
    get_engine,
    migrate,
    read_connection,
    session_scope,
    write_connection,
)
from store.importer import ImportIssue, ImportReport, format_report, import_client_data
from store.queries import campaigns_run, data_state, ledger, member_snapshot, members, transactions
from store.records import (
    ScenarioExistsError,
    ScenarioNotFoundError,
    ScenarioRecord,
    StalePublicationError,
    StoreError,
    code_version,
    delete_scenario,
    get_simulation_run,
    list_publications,
    list_scenarios,
    list_simulation_runs,
    load_publication,
    load_scenario,
    publication_audit,
    record_publication,
    record_simulation_run,
    save_scenario,
    scenario_record,
    validate_scenario_name,
)

__all__ = [
    "ImportIssue",
    "ImportReport",
    "ScenarioExistsError",
    "ScenarioNotFoundError",
    "ScenarioRecord",
    "StalePublicationError",
    "StoreError",
    "campaigns_run",
    "code_version",
    "data_state",
    "delete_scenario",
    "dispose_engines",
    "ensure_database",
    "format_report",
    "get_engine",
    "get_simulation_run",
    "import_client_data",
    "ledger",
    "list_publications",
    "list_scenarios",
    "list_simulation_runs",
    "load_publication",
    "load_scenario",
    "member_snapshot",
    "members",
    "migrate",
    "publication_audit",
    "read_connection",
    "record_publication",
    "record_simulation_run",
    "save_scenario",
    "scenario_record",
    "session_scope",
    "transactions",
    "validate_scenario_name",
    "write_connection",
]
