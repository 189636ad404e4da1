"""Which SQL functions a gated query may call.

Two lists decide it, checked in this order by :func:`tools.sql_gate.rules.no_dangerous_functions`:

1. The **denylist** (:data:`DENIED_FUNCTION_NAMES`, :data:`DENIED_FUNCTION_PREFIXES`): names that read files,
   reach the network or the system, change settings, sleep, or query the catalog. A call with one of these names
   is rejected whatever sqlglot parsed it into, and no configuration can allow it.
2. The **allowlist**: the sqlglot function classes in :data:`ALLOWED_FUNCTIONS` (scalar, aggregate and window
   functions sqlglot models, so they transpile between dialects), plus the few unmodelled names in
   :data:`ALLOWED_ANONYMOUS_FUNCTIONS` (parsed as ``exp.Anonymous``, rendered verbatim in every dialect).
   Everything else is rejected.

To allow another function, add its sqlglot class to :data:`ALLOWED_FUNCTIONS` (find it with
``type(sqlglot.parse_one("SELECT f(x)", read="duckdb").selects[0])``) or, when sqlglot parses it as
``Anonymous``, add its lowercase name to :data:`ALLOWED_ANONYMOUS_FUNCTIONS` (or pass it per deployment in
``GateContext.extra_functions``). See ``docs/sql-gate.md``.
"""

from __future__ import annotations

from sqlglot import exp

__all__ = [
    "ALLOWED_ANONYMOUS_FUNCTIONS",
    "ALLOWED_CAST_TYPES",
    "ALLOWED_FUNCTIONS",
    "DENIED_FUNCTION_NAMES",
    "DENIED_FUNCTION_PREFIXES",
    "function_name",
    "is_denied_function_name",
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
"""Lowercase function names that are always rejected."""

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
)
"""Lowercase name prefixes that are always rejected (``duckdb_settings``, ``httpfs_...``, ``pg_ls_dir``)."""


def is_denied_function_name(name: str) -> bool:
    """Whether a lowercase function name is on the denylist, exactly or by prefix."""
    return name in DENIED_FUNCTION_NAMES or name.startswith(DENIED_FUNCTION_PREFIXES)


def function_name(node: exp.Func, sql: str | None = None) -> str:
    """The lowercase name a call was written with, or sqlglot's SQL name for its class.

    Args:
        node: The call.
        sql: The text the node was parsed from; when given, the name is read from the node's recorded
            position, so ``lpad(...)`` is reported as ``lpad`` rather than sqlglot's class name ``pad``.
    """
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    start, end = node.meta.get("start"), node.meta.get("end")
    if sql is not None and isinstance(start, int) and isinstance(end, int):
        written = sql[start : end + 1].strip('"`[]').lower()
        if written.replace("_", "").isalnum() and written.isascii():
            return written
    return node.sql_name().lower()


ALLOWED_FUNCTIONS: frozenset[type[exp.Func]] = frozenset(
    {
        # boolean structure and conditionals (sqlglot models AND/OR/EXISTS/CASE/CAST as functions)
        exp.And,
        exp.Or,
        exp.Xor,
        exp.Exists,
        exp.Case,
        exp.If,
        exp.Cast,
        exp.TryCast,
        exp.Coalesce,
        exp.Nullif,
        exp.Greatest,
        exp.Least,
        # aggregates
        exp.Count,
        exp.CountIf,
        exp.Sum,
        exp.Avg,
        exp.Min,
        exp.Max,
        exp.Median,
        exp.Mode,
        exp.AnyValue,
        exp.ArgMax,
        exp.ArgMin,
        exp.ApproxDistinct,
        exp.ApproxQuantile,
        exp.PercentileCont,
        exp.PercentileDisc,
        exp.Quantile,
        exp.Stddev,
        exp.StddevPop,
        exp.StddevSamp,
        exp.Variance,
        exp.VariancePop,
        exp.Corr,
        exp.CovarPop,
        exp.CovarSamp,
        exp.GroupConcat,
        exp.LogicalAnd,
        exp.LogicalOr,
        exp.Grouping,
        exp.First,
        exp.Last,
        # window functions
        exp.RowNumber,
        exp.Rank,
        exp.DenseRank,
        exp.PercentRank,
        exp.CumeDist,
        exp.Ntile,
        exp.Lag,
        exp.Lead,
        exp.FirstValue,
        exp.LastValue,
        exp.NthValue,
        # dates and times
        exp.CurrentDate,
        exp.CurrentTimestamp,
        exp.Date,
        exp.DateAdd,
        exp.DateSub,
        exp.DateDiff,
        exp.DateTrunc,
        exp.TimestampTrunc,
        exp.TimestampAdd,
        exp.TimestampSub,
        exp.TimestampDiff,
        exp.DateFromParts,
        exp.DateStrToDate,
        exp.TsOrDsToDate,
        exp.TsOrDsAdd,
        exp.TsOrDsDiff,
        exp.StrToDate,
        exp.StrToTime,
        exp.TimeToStr,
        exp.TimeStrToTime,
        exp.UnixToTime,
        exp.TimeToUnix,
        exp.ToChar,
        exp.Extract,
        exp.Year,
        exp.Quarter,
        exp.Month,
        exp.Week,
        exp.WeekOfYear,
        exp.Day,
        exp.DayOfMonth,
        exp.DayOfWeek,
        exp.DayOfWeekIso,
        exp.DayOfYear,
        exp.Hour,
        exp.Minute,
        exp.Second,
        exp.Dayname,
        exp.Monthname,
        exp.LastDay,
        # strings
        exp.Lower,
        exp.Upper,
        exp.Initcap,
        exp.Length,
        exp.Substring,
        exp.Left,
        exp.Right,
        exp.Trim,
        exp.Concat,
        exp.ConcatWs,
        exp.Replace,
        exp.Reverse,
        exp.SplitPart,
        exp.StrPosition,
        exp.StartsWith,
        exp.EndsWith,
        exp.Contains,
        exp.RegexpLike,
        exp.RegexpILike,
        exp.RegexpExtract,
        exp.RegexpReplace,
        # numbers
        exp.Abs,
        exp.Round,
        exp.Ceil,
        exp.Floor,
        exp.Trunc,
        exp.Sign,
        exp.Sqrt,
        exp.Cbrt,
        exp.Pow,
        exp.Exp,
        exp.Ln,
        exp.Log,
        exp.SafeDivide,
    }
)
"""sqlglot function classes a query may call (exact classes, not subclasses)."""

ALLOWED_ANONYMOUS_FUNCTIONS: frozenset[str] = frozenset(
    {
        "date_part",
        "datepart",
        "ifnull",
        "nvl",
        "now",
        "today",
        "to_date",
        "mod",
        "ltrim",
        "rtrim",
    }
)
"""Lowercase names of functions sqlglot does not model that a query may call; rendered verbatim."""

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
