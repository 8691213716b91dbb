using System.Data.Common;
using Dapper;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace CallMedia.Data;

/// <summary>The database engines CallMedia runs on. Dialect differences stay inside <see cref="Data"/>.</summary>
public enum DbKind
{
    Sqlite,
    Postgres,
}

/// <summary>Opens connections to the configured database; the only place that knows which engine it is.</summary>
public sealed class Database : IDisposable
{
    static Database()
    {
        DefaultTypeMap.MatchNamesWithUnderscores = true;
    }

    private readonly NpgsqlDataSource? _postgres;

    public Database(string connectionString, DbKind kind)
    {
        ConnectionString = connectionString;
        Kind = kind;
        if (kind == DbKind.Postgres)
        {
            _postgres = NpgsqlDataSource.Create(connectionString);
        }
    }

    /// <summary>
    /// The database a connection string names: PostgreSQL for a key/value string with <c>Host=</c>, SQLite for one with
    /// <c>Data Source=</c>. PostgreSQL pooling, timeouts and retries are set with the usual Npgsql keys in the string
    /// (see docs/deployment.md for the values CallMedia is tested with).
    /// </summary>
    public static Database FromConnectionString(string connectionString)
    {
        if (connectionString.Contains("Data Source", StringComparison.OrdinalIgnoreCase))
        {
            return new Database(connectionString, DbKind.Sqlite);
        }

        if (connectionString.Contains("Host", StringComparison.OrdinalIgnoreCase))
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            // Deliberate defaults where the string is silent: fail fast when the server is away, so requests get a
            // 503 in seconds instead of hanging; keep pooled connections healthy across a server restart.
            if (!connectionString.Contains("Timeout", StringComparison.OrdinalIgnoreCase))
            {
                builder.Timeout = 5;
            }

            if (!connectionString.Contains("Command Timeout", StringComparison.OrdinalIgnoreCase))
            {
                builder.CommandTimeout = 30;
            }

            if (!connectionString.Contains("Maximum Pool Size", StringComparison.OrdinalIgnoreCase))
            {
                builder.MaxPoolSize = 50;
            }

            // The delivery path runs the same few statements all the time: prepared once per connection, each costs
            // one round trip without parsing and planning.
            if (!connectionString.Contains("Auto Prepare", StringComparison.OrdinalIgnoreCase))
            {
                builder.MaxAutoPrepare = 64;
                builder.AutoPrepareMinUsages = 2;
            }

            return new Database(builder.ConnectionString, DbKind.Postgres);
        }

        throw new InvalidOperationException("ConnectionStrings:CallMedia is neither SQLite (Data Source=...) nor PostgreSQL (Host=...)");
    }

    public string ConnectionString { get; }

    public DbKind Kind { get; }

    /// <summary>The embedded default: one SQLite file in the data folder.</summary>
    public static Database ForDataFolder(string dataDir)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(dataDir, "callmedia.db"),
            Pooling = true,
            DefaultTimeout = 30,
        };
        return new Database(builder.ToString(), DbKind.Sqlite);
    }

    public async Task<DbConnection> OpenAsync(CancellationToken ct = default)
    {
        if (_postgres is not null)
        {
            return await _postgres.OpenConnectionAsync(ct);
        }

        var connection = new SqliteConnection(ConnectionString);
        await connection.OpenAsync(ct);

        // Pooled connections keep their SQLite handle, and with it these settings: set them once per handle.
        // WAL (set by the migrations) with synchronous=NORMAL commits without an fsync per transaction and lets
        // readers (delivery) run while a writer (import, audit) holds the lock. The database file is read through a
        // memory map (its first 256 MiB): a page the writer or a reader needs is no system call away (one read a
        // delivery less; docs/benchmarks.md, fourteenth round). The price: a read that fails under a mapped page (a
        // failing disk, the file cut short by another program) stops the process (a signal) instead of failing the
        // request (docs/architecture.md, Data). The write-ahead log and the media files are read as before.
        if (connection.Handle is { } handle && !Prepared.TryGetValue(handle, out _))
        {
            await connection.ExecuteAsync("PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000; PRAGMA mmap_size=268435456;");
            Prepared.AddOrUpdate(handle, Marker);
        }

        return connection;
    }

    /// <summary>
    /// Runs a write. SQLite has one writer at a time; writers that collide wait in SQLite's busy handler, which
    /// sleeps in milliseconds. Queuing this process's writers on an async gate instead keeps them from colliding at
    /// all (other processes, such as an import, still meet the busy handler). Other engines lock rows and need no gate.
    /// </summary>
    public Task<T> WriteAsync<T>(Func<DbConnection, Task<T>> write, CancellationToken ct = default) =>
        GatedAsync(
            async () =>
            {
                await using var connection = await OpenAsync(ct);
                return await write(connection);
            },
            ct);

    /// <summary>
    /// <see cref="WriteAsync{T}(Func{DbConnection, Task{T}}, CancellationToken)"/> on a connection its caller holds open
    /// (one opened by <see cref="OpenAsync"/>), behind the same gate: for a writer loop that keeps its connection,
    /// and with it its compiled statements, between writes.
    /// </summary>
    public Task<T> WriteOnAsync<T>(DbConnection connection, Func<DbConnection, Task<T>> write, CancellationToken ct = default) =>
        GatedAsync(() => write(connection), ct);

    /// <summary>Runs <paramref name="run"/> behind this process's write gate on SQLite; elsewhere as it is.</summary>
    private async Task<T> GatedAsync<T>(Func<Task<T>> run, CancellationToken ct)
    {
        var gated = Kind == DbKind.Sqlite;
        if (gated)
        {
            await _writeGate.WaitAsync(ct);
        }

        try
        {
            return await run();
        }
        finally
        {
            if (gated)
            {
                _writeGate.Release();
            }
        }
    }

    private readonly SemaphoreSlim _writeGate = new(1, 1);

    /// <summary>
    /// SQLite: commits on <paramref name="connection"/> checkpoint the write-ahead log (copy it into the database file
    /// and sync both, while the commit waits) only once it holds <paramref name="pages"/> pages; SQLite's default is
    /// 1,000. For a writer whose log <see cref="CheckpointAsync"/> keeps short from elsewhere.
    /// </summary>
    public Task CheckpointPastAsync(DbConnection connection, int pages) =>
        Kind == DbKind.Sqlite ? connection.ExecuteAsync($"PRAGMA wal_autocheckpoint={pages}") : Task.CompletedTask;

    /// <summary>
    /// SQLite: a passive checkpoint on a connection of its own: copies what it can of the write-ahead log into the
    /// database file without waiting for, or blocking, any reader or writer. Elsewhere nothing.
    /// </summary>
    public async Task CheckpointAsync(CancellationToken ct = default)
    {
        if (Kind == DbKind.Sqlite)
        {
            await using var connection = await OpenAsync(ct);
            await connection.ExecuteAsync("PRAGMA wal_checkpoint(PASSIVE)");
        }
    }

    /// <summary>
    /// Runs a read on a connection that keeps its compiled statements between reads
    /// (<see cref="StatementPipeline.KeepPrepared"/>): on SQLite, which compiles a statement for every new command, up
    /// to <see cref="MaxKeptReaders"/> open connections are kept for the reads that run per request (couples and files
    /// by id); elsewhere a pooled connection (Npgsql prepares statements it sees repeated by itself). A read that
    /// fails closes its connection rather than keeping it.
    /// </summary>
    public async Task<T> ReadKeptAsync<T>(Func<DbConnection, Task<T>> read, CancellationToken ct = default)
    {
        if (Kind != DbKind.Sqlite)
        {
            await using var pooled = await OpenAsync(ct);
            return await read(pooled);
        }

        if (TakeKept() is not { } connection)
        {
            connection = await OpenAsync(ct);
            StatementPipeline.KeepPrepared(connection);
        }

        var keep = false;
        try
        {
            var result = await read(connection);
            keep = true;
            return result;
        }
        finally
        {
            // The count is ours (ConcurrentBag.Count takes every thread's lock); it may pass the limit by a few at once.
            if (keep && !_disposed && Volatile.Read(ref _keptCount) < MaxKeptReaders)
            {
                Interlocked.Increment(ref _keptCount);
                _keptReaders.Add(connection);
                if (_disposed && TakeKept() is { } late)
                {
                    // Disposed meanwhile: nobody will take it again.
                    StatementPipeline.ForgetPrepared(late);
                    await late.DisposeAsync();
                }
            }
            else
            {
                StatementPipeline.ForgetPrepared(connection);
                await connection.DisposeAsync();
            }
        }
    }

    /// <summary>Open SQLite connections kept for <see cref="ReadKeptAsync"/> at most; more reads at once open more, closed after use.</summary>
    public const int MaxKeptReaders = 8;

    private readonly System.Collections.Concurrent.ConcurrentBag<DbConnection> _keptReaders = [];
    private int _keptCount;
    private volatile bool _disposed;

    private DbConnection? TakeKept()
    {
        if (!_keptReaders.TryTake(out var connection))
        {
            return null;
        }

        Interlocked.Decrement(ref _keptCount);
        return connection;
    }

    public void Dispose()
    {
        _disposed = true;
        while (TakeKept() is { } kept)
        {
            StatementPipeline.ForgetPrepared(kept);
            kept.Dispose();
        }

        _writeGate.Dispose();
        _postgres?.Dispose();
    }

    /// <summary>
    /// Serialises appends to the audit chain across every node: each record must see the one before it. SQLite's
    /// write transaction already does; PostgreSQL takes a transaction-scoped advisory lock.
    /// </summary>
    public async Task LockAuditChainAsync(DbConnection connection, DbTransaction tx)
    {
        if (Kind == DbKind.Postgres)
        {
            await connection.ExecuteAsync($"SELECT pg_advisory_xact_lock({AuditChainLock})", transaction: tx);
        }
    }

    /// <summary>
    /// <see cref="LockAuditChainAsync"/> without waiting, as a statement of a pipeline: one row, true when this
    /// transaction holds the chain now. Null on SQLite, whose write transaction holds it already.
    /// </summary>
    public Statement? TryLockAuditChainStatement() =>
        Kind == DbKind.Postgres ? new Statement($"SELECT pg_try_advisory_xact_lock({AuditChainLock})") : null;

    /// <summary>The advisory lock of <see cref="LockAuditChainAsync"/>: one number for every node.</summary>
    private const long AuditChainLock = 7731;

    private static readonly object Marker = new();

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<object, object> Prepared = new();

    /// <summary>
    /// SQL for "column is one of the list in @parameter": Dapper expands a list for SQLite, while for PostgreSQL it
    /// passes the list as one array parameter.
    /// </summary>
    public string In(string column, string parameter) =>
        Kind == DbKind.Sqlite ? $"{column} IN @{parameter}" : $"{column} = ANY(@{parameter})";

    /// <summary>
    /// <c>SELECT <paramref name="columns"/> FROM <paramref name="table"/></c> where <paramref name="column"/> is among
    /// <paramref name="ids"/>, as one SQL text for one id and one for any other number of them, so statements kept
    /// compiled serve every list (<see cref="In"/> relies on Dapper expanding the list into one parameter per id, a new
    /// text per length). On SQLite a list is a JSON array, which costs a temporary table per run: one id is compared
    /// directly. The names are the caller's constants; the ids are bound.
    /// </summary>
    public Statement SelectByIds(string columns, string table, string column, long[] ids) =>
        ids.Length == 1 ? new Statement($"SELECT {columns} FROM {table} WHERE {column} = @ids", ("ids", ids[0]))
        : Kind == DbKind.Sqlite ? new Statement($"SELECT {columns} FROM {table} WHERE {column} IN (SELECT value FROM json_each(@ids))", ("ids", "[" + string.Join(',', ids) + "]"))
        : new Statement($"SELECT {columns} FROM {table} WHERE {column} = ANY(@ids)", ("ids", ids));

    /// <summary>
    /// After rows were inserted with explicit ids (imported couple ids), moves PostgreSQL's identity sequence past
    /// them so later automatic ids never collide; SQLite always continues after the largest id.
    /// </summary>
    public async Task AfterExplicitIdsAsync(DbConnection connection, DbTransaction tx, string table)
    {
        if (Kind == DbKind.Postgres)
        {
            await connection.ExecuteAsync(
                $"SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))", transaction: tx);
        }
    }

    /// <summary>SQL text for an auto-numbered primary key column.</summary>
    public string IdentityColumn => Kind == DbKind.Sqlite
        ? "INTEGER PRIMARY KEY"
        : "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY";
}
