using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace CallMedia.Data;

/// <summary>One statement of a <see cref="StatementPipeline"/>: its SQL with <c>@name</c> placeholders and their values.</summary>
public sealed record Statement(string Sql, params (string Name, object? Value)[] Parameters)
{
    /// <summary>
    /// For a write whose <c>RETURNING</c> gives back only the key of the one row it writes: the same write without
    /// that clause, run instead where SQLite's own interface runs it (<see cref="SqliteStatement"/>).
    /// </summary>
    public KeyOnlyWrite? KeyOnly { get; init; }
}

/// <summary>
/// A write of one row without its <c>RETURNING</c> clause (SQLite keeps the rows a <c>RETURNING</c> clause returns in
/// a temporary table of their own, created and dropped on every run), and where its key comes from instead: the rowid
/// an INSERT gave its row (<paramref name="KeyParameter"/> null), or, for an UPDATE of the row that parameter names (a
/// number or text), that parameter's value when the UPDATE changed one row. No row when it wrote none, as the
/// <c>RETURNING</c> would say. <paramref name="Column"/>: the name the <c>RETURNING</c> clause gives the key (by default
/// the key parameter's, or <c>rowid</c>).
/// </summary>
public sealed record KeyOnlyWrite(string Sql, string? KeyParameter = null, string? Column = null)
{
    /// <summary>What a connection keeps it by: its SQL and where its key comes from (the same text may run both ways).</summary>
    internal string KeptAs { get; } = string.Concat(Sql, "\0key:", KeyParameter);
}

/// <summary>
/// Reads that can ride in another transaction's pipeline (<see cref="StatementPipeline.RunAsync"/>): its statements,
/// and what to do with each one's result. <see cref="Done"/> once every result was read.
/// </summary>
public abstract class PipelinedRead
{
    public abstract IReadOnlyList<Statement> Statements { get; }

    public bool Done { get; private set; }

    /// <summary>
    /// Told the <see cref="MediaVersion"/> its transaction read before it: true when that alone makes the result known
    /// (it is <see cref="Done"/>, nothing to run). A read that keeps copies of what it reads keeps them as of that version.
    /// </summary>
    public virtual bool KnownAt(long mediaVersion) => false;

    /// <summary>Done without running <see cref="Statements"/>: the result was known already.</summary>
    protected void Finish() => Done = true;

    /// <summary>Reads the result of <see cref="Statements"/>[<paramref name="index"/>].</summary>
    public async Task ReadAsync(int index, DbDataReader reader)
    {
        await ReadResultAsync(index, reader);
        Done = index == Statements.Count - 1;
    }

    protected abstract Task ReadResultAsync(int index, DbDataReader reader);
}

/// <summary>
/// Runs several independent statements of one transaction and hands each one's result to the caller in order. On
/// PostgreSQL they travel as one batch: one round trip for all of them, where one after another each would wait for its
/// own reply. On SQLite, in-process with nothing to save, they run one after another. A statement that fails fails
/// the whole transaction on either engine, as one run alone would.
/// </summary>
public static class StatementPipeline
{
    /// <summary>
    /// Executes <paramref name="statements"/> in order inside <paramref name="tx"/> (none: each on its own); <paramref name="read"/> gets each
    /// statement's index and a reader positioned before its first row. Every statement must return a result, even an
    /// empty one (a <c>SELECT</c>, or a <c>RETURNING</c> clause): one that returns none has no place in the reader.
    /// </summary>
    public static async Task RunAsync(DbConnection connection, DbTransaction? tx, IReadOnlyList<Statement> statements, Func<int, DbDataReader, Task> read)
    {
        if (statements.Count == 0)
        {
            return;
        }

        if (!connection.CanCreateBatch)
        {
            var call = KeepForCall(connection);
            try
            {
                for (var i = 0; i < statements.Count; i++)
                {
                    if (Native(connection, tx, statements[i]) is { } native)
                    {
                        try
                        {
                            native.Execute();
                            await read(i, native);
                        }
                        finally
                        {
                            native.Reset();
                        }

                        continue;
                    }

                    using var command = Command(connection, tx, statements[i]);
                    await using var reader = await command.Value.ExecuteReaderAsync();
                    await read(i, reader);
                }
            }
            finally
            {
                call?.Invoke();
            }

            return;
        }

        await using var batch = Batch(connection, tx, statements);
        await using var results = await batch.ExecuteReaderAsync();
        for (var i = 0; i < statements.Count; i++)
        {
            if (i > 0 && !await results.NextResultAsync())
            {
                throw new InvalidOperationException($"the batch returned {i} results for {statements.Count} statements");
            }

            await read(i, results);
        }
    }

    /// <summary>One statement on its own: the first column of its first row (a <c>RETURNING</c> id), null when it returned no row.</summary>
    public static async Task<long?> ScalarAsync(DbConnection connection, DbTransaction? tx, Statement statement)
    {
        if (Native(connection, tx, statement) is { } native)
        {
            try
            {
                native.Execute();
                return native.Read() ? native.GetInt64(0) : null;
            }
            finally
            {
                native.Reset();
            }
        }

        using var command = Command(connection, tx, statement);
        await using var reader = await command.Value.ExecuteReaderAsync();
        return await FirstLongAsync(reader);
    }

    /// <summary>The first column of a result's first row as a number (a <c>RETURNING</c> id), null when it has no row.</summary>
    public static async Task<long?> FirstLongAsync(DbDataReader reader) =>
        await reader.ReadAsync() ? reader.GetInt64(0) : null;

    /// <summary>Executes <paramref name="statements"/> in order inside <paramref name="tx"/>, results not read (writes without <c>RETURNING</c>).</summary>
    public static async Task ExecuteAsync(DbConnection connection, DbTransaction? tx, IReadOnlyList<Statement> statements)
    {
        if (statements.Count == 0)
        {
            return;
        }

        if (!connection.CanCreateBatch)
        {
            var call = KeepForCall(connection);
            try
            {
                foreach (var statement in statements)
                {
                    if (Native(connection, tx, statement) is { } native)
                    {
                        try
                        {
                            native.ExecuteToEnd();
                        }
                        finally
                        {
                            native.Reset();
                        }

                        continue;
                    }

                    using var command = Command(connection, tx, statement);
                    await command.Value.ExecuteNonQueryAsync();
                }
            }
            finally
            {
                call?.Invoke();
            }

            return;
        }

        await using var batch = Batch(connection, tx, statements);
        await batch.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// Keeps the commands run on <paramref name="connection"/> through a pipeline, by SQL text, for as long as the
    /// connection lives: each statement is compiled once, then only bound and stepped (SQLite compiles a statement per
    /// command, and re-parsing the same few writes was a large share of the group commit's CPU). For a connection
    /// held open by one owner that runs the same few statements over and over (the group commit's writer loop);
    /// <see cref="ForgetPrepared"/> before disposing it.
    /// </summary>
    public static void KeepPrepared(DbConnection connection)
    {
        ForgetPrepared(connection);
        Prepared.Add(connection, new Kept());
    }

    /// <summary>Disposes the commands <see cref="KeepPrepared"/> kept for <paramref name="connection"/>.</summary>
    public static void ForgetPrepared(DbConnection connection)
    {
        if (Prepared.TryGetValue(connection, out var kept))
        {
            Prepared.Remove(connection);
            kept.Clear();
        }
    }

    /// <summary>
    /// Statements run one after another on a connection that keeps no commands: kept for this call, so one repeated
    /// (the chainer's UPDATE per record) is compiled once. Returns what forgets them again, or null.
    /// </summary>
    private static Action? KeepForCall(DbConnection connection)
    {
        if (Prepared.TryGetValue(connection, out _))
        {
            return null;
        }

        KeepPrepared(connection);
        return () => ForgetPrepared(connection);
    }

    /// <summary>Commands kept at most per connection; past that they start again (a miss costs one compile).</summary>
    private const int MaxPrepared = 64;

    private static readonly ConditionalWeakTable<DbConnection, Kept> Prepared = new();

    /// <summary>
    /// What a connection keeps, by SQL text: on SQLite each statement compiled for the C interface
    /// (<see cref="SqliteStatement"/>; null when it cannot run that way), otherwise a command.
    /// </summary>
    private sealed class Kept
    {
        public Dictionary<string, DbCommand> Commands { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, SqliteStatement?> Native { get; } = new(StringComparer.Ordinal);

        /// <summary>Makes room for one more: past <see cref="MaxPrepared"/> everything kept is let go.</summary>
        public void Room()
        {
            if (Commands.Count + Native.Count >= MaxPrepared)
            {
                Clear();
            }
        }

        public void Clear()
        {
            foreach (var command in Commands.Values)
            {
                command.Dispose();
            }

            foreach (var native in Native.Values)
            {
                native?.Free();
            }

            Commands.Clear();
            Native.Clear();
        }
    }

    /// <summary>
    /// The kept SQLite statement for <paramref name="statement"/>, bound with its values and ready to run; null when
    /// the connection keeps none, is not SQLite, or the statement runs as a command: a write outside a transaction
    /// (<see cref="SqliteStatement.ReadOnly"/>), a run whose transaction is not the connection's (the command refuses
    /// it), one that is more than one statement or has values of other kinds.
    /// </summary>
    internal static SqliteStatement? Native(DbConnection connection, DbTransaction? tx, Statement statement)
    {
        if (connection is not SqliteConnection { Handle: { } handle } sqlite || !Prepared.TryGetValue(connection, out var kept)
            || (tx is null ? raw.sqlite3_get_autocommit(handle) == 0 : tx.Connection != connection))
        {
            return null;
        }

        var sql = statement.KeyOnly?.KeptAs ?? statement.Sql;
        if (!kept.Native.TryGetValue(sql, out var native))
        {
            kept.Room();
            native = SqliteStatement.TryCompile(sqlite, statement);
            kept.Native[sql] = native;
        }
        else if (native is not null && native.Handle != handle)
        {
            // The connection was closed and opened again since: what it kept was compiled on a handle it no longer has.
            kept.Clear();
            return Native(connection, tx, statement);
        }

        return native is not null && (tx is not null || native.ReadOnly) && native.TryBind(statement) ? native : null;
    }

    /// <summary>A command for one run: a kept one (left open for the next run) or a new one (disposed after it).</summary>
    private readonly struct CommandLease(DbCommand command, bool kept) : IDisposable
    {
        public DbCommand Value => command;

        public void Dispose()
        {
            if (!kept)
            {
                command.Dispose();
            }
        }
    }

    private static CommandLease Command(DbConnection connection, DbTransaction? tx, Statement statement)
    {
        if (!Prepared.TryGetValue(connection, out var kept))
        {
            var command = connection.CreateCommand();
            command.Transaction = tx;
            command.CommandText = statement.Sql;
            AddParameters(statement, command.Parameters, command.CreateParameter);
            return new CommandLease(command, kept: false);
        }

        if (!kept.Commands.TryGetValue(statement.Sql, out var reused))
        {
            kept.Room();
            reused = connection.CreateCommand();
            reused.CommandText = statement.Sql;
            kept.Commands[statement.Sql] = reused;
        }

        reused.Transaction = tx;
        if (!SetValues(statement, reused.Parameters))
        {
            reused.Parameters.Clear();
            AddParameters(statement, reused.Parameters, reused.CreateParameter);
        }

        return new CommandLease(reused, kept: true);
    }

    /// <summary>
    /// A kept command's parameters given this run's values, when they are the statement's names in its order (the
    /// same SQL is built by one method, so they are): no new parameter objects per run. False when they differ.
    /// </summary>
    private static bool SetValues(Statement statement, DbParameterCollection parameters)
    {
        var named = statement.Parameters;
        if (parameters.Count != named.Length)
        {
            return false;
        }

        for (var i = 0; i < named.Length; i++)
        {
            var kept = parameters[i].ParameterName;
            if (kept.Length != named[i].Name.Length + 1 || !kept.AsSpan(1).SequenceEqual(named[i].Name))
            {
                return false;
            }
        }

        for (var i = 0; i < named.Length; i++)
        {
            parameters[i].Value = named[i].Value ?? DBNull.Value;
        }

        return true;
    }

    private static DbBatch Batch(DbConnection connection, DbTransaction? tx, IReadOnlyList<Statement> statements)
    {
        var batch = connection.CreateBatch();
        batch.Transaction = tx;
        foreach (var statement in statements)
        {
            var command = batch.CreateBatchCommand();
            command.CommandText = statement.Sql;
            AddParameters(statement, command.Parameters, command.CreateParameter);
            batch.BatchCommands.Add(command);
        }

        return batch;
    }

    private static void AddParameters(Statement statement, DbParameterCollection parameters, Func<DbParameter> create)
    {
        foreach (var (name, value) in statement.Parameters)
        {
            var parameter = create();
            // Named with its prefix: SQLite looks a bare name up under each of its three prefixes, every execution.
            parameter.ParameterName = "@" + name;
            parameter.Value = value ?? DBNull.Value;
            parameters.Add(parameter);
        }
    }
}
