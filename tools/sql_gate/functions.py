"""Which SQL functions a gated query may call, kept as data.

Two lists decide it, checked in this order by :func:`tools.sql_gate.rules.no_dangerous_functions`:

1. The **denylist** (:data:`DENIED_FUNCTION_NAMES`, :data:`DENIED_FUNCTION_PREFIXES`): names that read files,
   reach the network or the system, run a query string, change settings or session state, sleep, or query the
   catalog. A call with one of these names is rejected whatever sqlglot parsed it into, and no configuration can
   allow it.
2. The **allowlist**: the lowercase names in :data:`ALLOWED_FUNCTIONS` (grouped by kind in
   :data:`ALLOWED_FUNCTION_GROUPS`): read-only aggregate, window, conditional, date, string, number and list
   functions of DuckDB and PostgreSQL. A call is checked by the name it was written with (``list(x ORDER BY y)``
   is ``list``, whatever sqlglot's class for it); a node sqlglot builds from SQL grammar rather than from a
   named call (``CASE``, ``CAST``, ``AND``, ``x ^ 2``, ``EXISTS``) has no written name and is checked by its
   class against :data:`SYNTAX_FUNCTIONS`. Everything else is rejected.

Every allowed name exists in DuckDB's ``duckdb_functions()`` or PostgreSQL's ``pg_proc`` (or is SQL grammar in
both, :data:`SQL_GRAMMAR_NAMES`); ``tests/unit/tools/sql_gate/test_sql_gate_functions.py`` checks that, and that
no allowed name is denied. Functions that can allocate without bound from one row (``repeat``, ``lpad``,
``rpad``, ``range``, ``generate_series``, ``list_resize``) and nondeterministic ones (``random``, ``uuid``) are
left out on purpose. To allow another function, add its lowercase name to the right group (or, for one
deployment, pass it in ``GateContext.extra_functions``). See ``docs/sql-gate.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from sqlglot import exp

__all__ = [
    "ALLOWED_CAST_TYPES",
    "ALLOWED_FUNCTIONS",
    "ALLOWED_FUNCTION_GROUPS",
    "DENIED_FUNCTION_NAMES",
    "DENIED_FUNCTION_PREFIXES",
    "SQL_GRAMMAR_NAMES",
    "SYNTAX_FUNCTIONS",
    "function_name",
    "is_denied_function_name",
    "written_name",
]

DENIED_FUNCTION_NAMES: frozenset[str] = frozenset(
    {
        # DuckDB file, network and catalog access
        "read_csv",
        "read_csv_auto",
        "read_parquet",
        "parquet_scan",
        "parquet_metadata",
        "parquet_schema",
        "parquet_file_metadata",
        "parquet_kv_metadata",
        "read_json",
        "read_json_auto",
        "read_json_objects",
        "read_json_objects_auto",
        "read_ndjson",
        "read_ndjson_auto",
        "read_ndjson_objects",
        "read_text",
        "read_blob",
        "read_xlsx",
        "sniff_csv",
        "glob",
        "iceberg_scan",
        "iceberg_metadata",
        "iceberg_snapshots",
        "delta_scan",
        "postgres_scan",
        "postgres_scan_pushdown",
        "postgres_query",
        "postgres_execute",
        "postgres_attach",
        "sqlite_scan",
        "sqlite_attach",
        "mysql_scan",
        "mysql_query",
        "mysql_execute",
        "query",
        "query_table",
        "load_extension",
        "getenv",
        "current_setting",
        "set_config",
        "which_secret",
        "pragma_version",
        "pragma_table_info",
        "pragma_storage_info",
        "pragma_database_size",
        "pragma_show",
        "checkpoint",
        "force_checkpoint",
        "enable_profiling",
        "test_all_types",
        "summary",
        "to_file",
        "tofile",
        "sleep_ms",
        "write_log",
        "getvariable",
        "current_query",
        "current_query_id",
        "current_connection_id",
        "current_transaction_id",
        "current_catalog",
        "current_role",
        "user",
        "stats",
        "invoke",
        "json_serialize_plan",
        "json_serialize_sql",
        "json_deserialize_sql",
        "json_execute_serialized_sql",
        "hive_partition_component",
        "parse_duckdb_log_message",
        "to_aggregate_state",
        "finalize",
        "combine",
        "currval",
        "lastval",
        "setseed",
        # PostgreSQL files, large objects, remote databases, sleeping, settings, signals
        "pg_read_file",
        "pg_read_binary_file",
        "pg_ls_dir",
        "pg_stat_file",
        "pg_sleep",
        "pg_sleep_for",
        "pg_sleep_until",
        "pg_terminate_backend",
        "pg_cancel_backend",
        "pg_reload_conf",
        "pg_rotate_logfile",
        "lo_import",
        "lo_export",
        "lo_get",
        "lo_put",
        "lo_open",
        "lo_create",
        "lo_unlink",
        "lo_from_bytea",
        "dblink",
        "dblink_exec",
        "dblink_connect",
        "dblink_send_query",
        "version",
        "current_user",
        "session_user",
        "current_database",
        "current_schema",
        "current_schemas",
        "inet_server_addr",
        "txid_current",
        "nextval",
        "setval",
        "inet_client_addr",
        "inet_client_port",
        "inet_server_port",
        "obj_description",
        "col_description",
        "shobj_description",
        "format_type",
        "query_to_xml",
        "query_to_xml_and_xmlschema",
        "query_to_xmlschema",
        "cursor_to_xml",
        "cursor_to_xmlschema",
        "table_to_xml",
        "table_to_xml_and_xmlschema",
        "table_to_xmlschema",
        "schema_to_xml",
        "schema_to_xml_and_xmlschema",
        "schema_to_xmlschema",
        "database_to_xml",
        "database_to_xml_and_xmlschema",
        "database_to_xmlschema",
        "ts_stat",
        "ts_rewrite",
        "gin_clean_pending_list",
        # MySQL, SQL Server, ClickHouse, Spark, Trino: files, sleeping, remote reads, shell
        "load_file",
        "sleep",
        "benchmark",
        "system",
        "xp_cmdshell",
        "openrowset",
        "opendatasource",
        "openquery",
        "file",
        "url",
        "s3",
        "s3cluster",
        "hdfs",
        "remote",
        "remotesecure",
        "cluster",
        "clusterallreplicas",
        "input",
        "executable",
        "jdbc",
        "odbc",
        "mysql",
        "postgresql",
        "sqlite",
        "reflect",
        "java_method",
        "shell",
        "exec",
        "execute",
        "eval",
    }
)
"""Lowercase function names that are always rejected: they read files or the network, run a query string
(``query_to_xml``, ``ts_stat``, ``json_execute_serialized_sql``), sleep, log, read or change session state and
settings, describe the server or the catalog, or advance sequences."""

DENIED_FUNCTION_PREFIXES: tuple[str, ...] = (
    "read_",
    "http",
    "duckdb_",
    "pragma_",
    "pg_",
    "lo_",
    "dblink",
    "iceberg_",
    "delta_",
    "parquet_",
    "postgres_",
    "mysql_",
    "sqlite_",
    "sys_",
    "xp_",
    "sp_",
    "system",
    "file_",
    "s3",
    "gcs_",
    "azure_",
    "url",
    "load_",
    "install_",
    "secret",
    "has_",
    "txid_",
    "to_reg",
    "brin_",
    "binary_upgrade_",
    "json_execute",
    "icu_",
)
"""Lowercase name prefixes that are always rejected (``duckdb_settings``, ``httpfs_...``, ``pg_ls_dir``)."""


def is_denied_function_name(name: str) -> bool:
    """Whether a lowercase function name is on the denylist, exactly or by prefix."""
    return name in DENIED_FUNCTION_NAMES or name.startswith(DENIED_FUNCTION_PREFIXES)


def written_name(node: exp.Func, sql: str) -> str | None:
    """The lowercase name a call was written with in ``sql``, or None for a node built from SQL grammar.

    sqlglot records the position of a named call (``lpad(...)`` parsed as its class ``Pad``, ``list(...)`` as
    ``ArrayAgg``); grammar such as ``CASE``, ``CAST(x AS t)``, ``x::t``, ``a AND b`` or DuckDB's special
    ``MIN``/``MAX`` parse has no recorded position.
    """
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    start, end = node.meta.get("start"), node.meta.get("end")
    if isinstance(start, int) and isinstance(end, int):
        written = sql[start : end + 1].strip('"`[]').lower()
        if written.replace("_", "").isalnum() and written.isascii():
            return written
    return None


def function_name(node: exp.Func, sql: str | None = None) -> str:
    """The lowercase name a call was written with, or sqlglot's SQL name for its class.

    Args:
        node: The call.
        sql: The text the node was parsed from; when given, the name is read from the node's recorded
            position, so ``lpad(...)`` is reported as ``lpad`` rather than sqlglot's class name ``pad``.
    """
    written = written_name(node, sql) if sql is not None else None
    if written is not None:
        return written
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    return node.sql_name().lower()


ALLOWED_FUNCTION_GROUPS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "aggregate": frozenset(
            {
                "any_value",
                "approx_count_distinct",
                "approx_quantile",
                "arbitrary",
                "arg_max",
                "arg_min",
                "argmax",
                "argmin",
                "array_agg",
                "avg",
                "bit_and",
                "bit_or",
                "bit_xor",
                "bool_and",
                "bool_or",
                "corr",
                "count",
                "count_if",
                "countif",
                "covar_pop",
                "covar_samp",
                "entropy",
                "every",
                "favg",
                "first",
                "fsum",
                "geomean",
                "geometric_mean",
                "group_concat",
                "grouping",
                "kahan_sum",
                "kurtosis",
                "kurtosis_pop",
                "last",
                "list",
                "listagg",
                "mad",
                "max",
                "max_by",
                "mean",
                "median",
                "min",
                "min_by",
                "mode",
                "percentile_cont",
                "percentile_disc",
                "product",
                "quantile",
                "quantile_cont",
                "quantile_disc",
                "regr_avgx",
                "regr_avgy",
                "regr_count",
                "regr_intercept",
                "regr_r2",
                "regr_slope",
                "regr_sxx",
                "regr_sxy",
                "regr_syy",
                "reservoir_quantile",
                "sem",
                "skewness",
                "stddev",
                "stddev_pop",
                "stddev_samp",
                "string_agg",
                "sum",
                "sumkahan",
                "var_pop",
                "var_samp",
                "variance",
                "wavg",
                "weighted_avg",
            }
        ),
        "window": frozenset(
            {
                "cume_dist",
                "dense_rank",
                "first_value",
                "lag",
                "last_value",
                "lead",
                "nth_value",
                "ntile",
                "percent_rank",
                "rank",
                "row_number",
            }
        ),
        "conditional": frozenset({"coalesce", "greatest", "if", "ifnull", "least", "nullif"}),
        "date": frozenset(
            {
                "age",
                "current_date",
                "current_timestamp",
                "date",
                "date_add",
                "date_bin",
                "date_diff",
                "date_part",
                "date_sub",
                "date_trunc",
                "datediff",
                "datepart",
                "datesub",
                "datetrunc",
                "day",
                "dayname",
                "dayofmonth",
                "dayofweek",
                "dayofyear",
                "epoch",
                "epoch_ms",
                "extract",
                "hour",
                "isodow",
                "isoyear",
                "last_day",
                "make_date",
                "make_interval",
                "make_time",
                "make_timestamp",
                "millisecond",
                "minute",
                "month",
                "monthname",
                "now",
                "quarter",
                "second",
                "strftime",
                "strptime",
                "time_bucket",
                "to_char",
                "to_date",
                "to_days",
                "to_hours",
                "to_minutes",
                "to_months",
                "to_seconds",
                "to_timestamp",
                "to_weeks",
                "to_years",
                "today",
                "try_strptime",
                "week",
                "weekday",
                "weekofyear",
                "year",
                "yearweek",
            }
        ),
        "string": frozenset(
            {
                "btrim",
                "char_length",
                "character_length",
                "concat",
                "concat_ws",
                "contains",
                "ends_with",
                "initcap",
                "instr",
                "lcase",
                "left",
                "len",
                "length",
                "lower",
                "ltrim",
                "position",
                "prefix",
                "regexp_extract",
                "regexp_full_match",
                "regexp_like",
                "regexp_matches",
                "regexp_replace",
                "replace",
                "reverse",
                "right",
                "rtrim",
                "split_part",
                "starts_with",
                "strip_accents",
                "strpos",
                "substr",
                "substring",
                "suffix",
                "translate",
                "trim",
                "ucase",
                "upper",
            }
        ),
        "number": frozenset(
            {
                "abs",
                "acos",
                "asin",
                "atan",
                "atan2",
                "cbrt",
                "ceil",
                "ceiling",
                "cos",
                "degrees",
                "div",
                "exp",
                "floor",
                "gcd",
                "isfinite",
                "isinf",
                "isnan",
                "lcm",
                "ln",
                "log",
                "log10",
                "log2",
                "mod",
                "pi",
                "pow",
                "power",
                "radians",
                "round",
                "round_even",
                "sign",
                "sin",
                "sqrt",
                "tan",
                "trunc",
                "width_bucket",
                "xor",
            }
        ),
        "list": frozenset(
            {
                "array_contains",
                "array_distinct",
                "array_has",
                "array_length",
                "array_slice",
                "array_sort",
                "array_to_string",
                "cardinality",
                "list_contains",
                "list_distinct",
                "list_extract",
                "list_has",
                "list_reverse_sort",
                "list_slice",
                "list_sort",
            }
        ),
    }
)
"""The allowlist by kind: read-only functions of DuckDB and PostgreSQL, by the lowercase name they are called by."""

ALLOWED_FUNCTIONS: frozenset[str] = frozenset().union(*ALLOWED_FUNCTION_GROUPS.values())
"""Every lowercase function name a query may call."""

SQL_GRAMMAR_NAMES: frozenset[str] = frozenset(
    {"coalesce", "current_timestamp", "grouping", "greatest", "ifnull", "least", "nullif"}
)
"""Allowed names neither catalog lists: SQL grammar (``COALESCE``, ``CURRENT_TIMESTAMP``, ``GROUPING``) and
names DuckDB's parser rewrites (``ifnull``)."""

SYNTAX_FUNCTIONS: frozenset[type[exp.Func]] = frozenset(
    {
        # boolean structure, CASE and its WHEN branches, casts, EXISTS: grammar sqlglot models as functions
        exp.And,
        exp.Or,
        exp.Xor,
        exp.Case,
        exp.If,
        exp.Cast,
        exp.TryCast,
        exp.Exists,
        # special-syntax calls: EXTRACT(x FROM d), POSITION(a IN b), SUBSTRING(a FROM 1 FOR 2), TRIM(BOTH ...),
        # CURRENT_DATE without parentheses, x ^ y
        exp.Extract,
        exp.StrPosition,
        exp.Substring,
        exp.Trim,
        exp.CurrentDate,
        exp.CurrentTimestamp,
        exp.Pow,
        # nodes sqlglot builds inside an allowed call (datediff's date coercions, strftime's formats, ...)
        exp.DateStrToDate,
        exp.TsOrDsToDate,
        exp.TsOrDsAdd,
        exp.TsOrDsDiff,
        exp.TimeStrToTime,
        exp.UnixToTime,
        exp.TimeToUnix,
        exp.SafeDivide,
    }
)
"""sqlglot classes allowed only where no function name was written: SQL grammar, not a named call."""

ALLOWED_CAST_TYPES: frozenset[str] = frozenset(
    {
        "TINYINT",
        "SMALLINT",
        "INT",
        "BIGINT",
        "INT128",
        "UTINYINT",
        "USMALLINT",
        "UINT",
        "UBIGINT",
        "DECIMAL",
        "DOUBLE",
        "FLOAT",
        "CHAR",
        "NCHAR",
        "VARCHAR",
        "NVARCHAR",
        "TEXT",
        "BOOLEAN",
        "DATE",
        "DATETIME",
        "TIME",
        "TIMETZ",
        "TIMESTAMP",
        "TIMESTAMPTZ",
        "TIMESTAMPLTZ",
        "TIMESTAMP_S",
        "TIMESTAMP_MS",
        "TIMESTAMP_NS",
        "INTERVAL",
    }
)
"""sqlglot ``DataType.Type`` names a ``CAST`` may target: numbers, text, booleans, dates and times.

Casts to catalog types (PostgreSQL ``regclass``, ``regproc``), ``JSON``, arrays, structs and user-defined types
are rejected: they look objects up in the catalog or build values the answer does not need.
"""
