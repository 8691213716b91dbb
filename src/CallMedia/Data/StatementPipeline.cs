using System.Data.Common;

namespace CallMedia.Data;

/// <summary>One statement of a <see cref="StatementPipeline"/>: its SQL with <c>@name</c> placeholders and their values.</summary>
public sealed record Statement(string Sql, params (string Name, object? Value)[] Parameters);

/// <summary>
/// Reads that can ride in another transaction's pipeline (<see cref="StatementPipeline.RunAsync"/>): its statements,
/// and what to do with each one's result. <see cref="Done"/> once every result was read.
/// </summary>
public abstract class PipelinedRead
{
    public abstract IReadOnlyList<Statement> Statements { get; }

    public bool Done { get; private set; }

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
            for (var i = 0; i < statements.Count; i++)
            {
                await using var command = Command(connection, tx, statements[i]);
                await using var reader = await command.ExecuteReaderAsync();
                await read(i, reader);
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
        await using var command = Command(connection, tx, statement);
        await using var reader = await command.ExecuteReaderAsync();
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
            foreach (var statement in statements)
            {
                await using var command = Command(connection, tx, statement);
                await command.ExecuteNonQueryAsync();
            }

            return;
        }

        await using var batch = Batch(connection, tx, statements);
        await batch.ExecuteNonQueryAsync();
    }

    private static DbCommand Command(DbConnection connection, DbTransaction? tx, Statement statement)
    {
        var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = statement.Sql;
        AddParameters(statement, command.Parameters, command.CreateParameter);
        return command;
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
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            parameters.Add(parameter);
        }
    }
}
