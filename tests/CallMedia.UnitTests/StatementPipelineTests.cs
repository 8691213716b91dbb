using CallMedia.Data;
using Microsoft.Data.Sqlite;

namespace CallMedia.UnitTests;

/// <summary>
/// Statements run one after another (SQLite) reuse their compiled commands: on a connection that keeps them
/// (<see cref="StatementPipeline.KeepPrepared"/>) across calls and transactions, otherwise within one call. A reused
/// command must bind each run's own values, nulls included, and survive a failed run.
/// </summary>
public sealed class StatementPipelineTests : IDisposable
{
    private const string Insert = "INSERT INTO t (k, v) VALUES (@k, @v) RETURNING id";

    private readonly SqliteConnection _connection = new("Data Source=:memory:");

    public StatementPipelineTests()
    {
        _connection.Open();
        using var create = _connection.CreateCommand();
        create.CommandText = "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL UNIQUE, v TEXT)";
        create.ExecuteNonQuery();
    }

    public void Dispose()
    {
        StatementPipeline.ForgetPrepared(_connection);
        _connection.Dispose();
    }

    [Fact]
    public async Task RunAsync_KeptConnection_EachRunBindsItsOwnValuesAcrossTransactions()
    {
        StatementPipeline.KeepPrepared(_connection);
        var ids = new List<long>();
        foreach (var (k, v) in new[] { ("a", "1"), ("b", null), ("c", "3") })
        {
            await using var tx = await _connection.BeginTransactionAsync();
            await StatementPipeline.RunAsync(
                _connection,
                tx,
                [new Statement(Insert, ("k", k), ("v", v))],
                async (_, reader) => ids.Add(await StatementPipeline.FirstLongAsync(reader) ?? -1));
            await tx.CommitAsync();
        }

        Assert.Equal([1L, 2L, 3L], ids);
        Assert.Equal(["a=1", "b=", "c=3"], await RowsAsync());
    }

    [Fact]
    public async Task ExecuteAsync_SameStatementManyTimesInOneCall_EveryRowWritten()
    {
        await StatementPipeline.ExecuteAsync(
            _connection,
            null,
            Enumerable.Range(0, 5).Select(i => new Statement("INSERT INTO t (k, v) VALUES (@k, @v)", ("k", $"k{i}"), ("v", i % 2 == 0 ? $"v{i}" : null))).ToList());

        Assert.Equal(["k0=v0", "k1=", "k2=v2", "k3=", "k4=v4"], await RowsAsync());
    }

    [Fact]
    public async Task ScalarAsync_KeptCommandFailedOnce_NextRunStillWorks()
    {
        StatementPipeline.KeepPrepared(_connection);
        Assert.Equal(1, await StatementPipeline.ScalarAsync(_connection, null, new Statement(Insert, ("k", "a"), ("v", "1"))));

        await Assert.ThrowsAsync<SqliteException>(() => StatementPipeline.ScalarAsync(_connection, null, new Statement(Insert, ("k", "a"), ("v", "again"))));

        Assert.Equal(2, await StatementPipeline.ScalarAsync(_connection, null, new Statement(Insert, ("k", "b"), ("v", "2"))));
        Assert.Equal(["a=1", "b=2"], await RowsAsync());
    }

    [Fact]
    public async Task RunAsync_KeptCommandGivenTheSameSqlWithItsParametersInAnotherOrder_BindsEachByName()
    {
        // A kept command's parameters are given new values in place only while the statement names them in the same
        // order; the same SQL built with another order (or another count) gets its parameters anew.
        StatementPipeline.KeepPrepared(_connection);
        Assert.Equal(1, await StatementPipeline.ScalarAsync(_connection, null, new Statement(Insert, ("k", "a"), ("v", "1"))));
        Assert.Equal(2, await StatementPipeline.ScalarAsync(_connection, null, new Statement(Insert, ("v", "2"), ("k", "b"))));
        Assert.Equal(3, await StatementPipeline.ScalarAsync(_connection, null, new Statement(Insert, ("k", "c"), ("v", "3"))));
        await Assert.ThrowsAnyAsync<Exception>(() => StatementPipeline.ScalarAsync(_connection, null, new Statement(Insert, ("k", "d"))));
        Assert.Equal(4, await StatementPipeline.ScalarAsync(_connection, null, new Statement(Insert, ("k", "e"), ("v", null))));

        Assert.Equal(["a=1", "b=2", "c=3", "e="], await RowsAsync());
    }

    [Fact]
    public async Task KeptSqliteConnection_SimpleStatementsRunCompiledThroughSqlite_OthersAsCommands()
    {
        const string Select = "SELECT k FROM t WHERE k = @k";
        Assert.Null(StatementPipeline.Native(_connection, null, new Statement(Select, ("k", "a")))); // not kept
        StatementPipeline.KeepPrepared(_connection);
        Use(StatementPipeline.Native(_connection, null, new Statement(Select, ("k", "a"))));

        // A write runs compiled only inside a transaction: on its own, its commit would come in the reset after the run.
        Assert.Null(StatementPipeline.Native(_connection, null, new Statement(Insert, ("k", "a"), ("v", "1"))));
        await using (var tx = await _connection.BeginTransactionAsync())
        {
            Use(StatementPipeline.Native(_connection, tx, new Statement(Insert, ("k", "a"), ("v", "1"))));
            Assert.Null(StatementPipeline.Native(_connection, null, new Statement(Select, ("k", "a")))); // the command refuses a run outside the pending transaction
            Assert.Null(StatementPipeline.Native(_connection, tx, new Statement("INSERT INTO t (k) VALUES (@k); SELECT 1", ("k", "x"))));
            Assert.Null(StatementPipeline.Native(_connection, tx, new Statement(Insert, ("k", "a"), ("v", DateTime.UnixEpoch))));
            Assert.Null(StatementPipeline.Native(_connection, tx, new Statement(Insert, ("k", "a"), ("v", "1"), ("w", "extra"))));

            // Either way the same rows: a value of another kind goes through the command.
            await StatementPipeline.ExecuteAsync(
                _connection,
                tx,
                [
                    new Statement(Insert, ("k", "n1"), ("v", 7L)),
                    new Statement(Insert, ("k", "d1"), ("v", new DateTime(2026, 12, 3, 0, 0, 0, DateTimeKind.Utc))),
                    new Statement(Insert, ("k", "n2"), ("v", true)),
                ]);
            await tx.CommitAsync();
        }

        Assert.Equal(["n1=7", "d1=2026-12-03 00:00:00", "n2=1"], await RowsAsync());

        // Closed and opened again (a new, empty database in memory): what was compiled on the old handle is let go, not run.
        Use(StatementPipeline.Native(_connection, null, new Statement("SELECT @k", ("k", "a"))));
        await _connection.CloseAsync();
        await _connection.OpenAsync();
        var again = StatementPipeline.Native(_connection, null, new Statement("SELECT @k", ("k", "b")));
        Assert.NotNull(again);
        again.Execute();
        Assert.True(again.Read());
        Assert.Equal("b", again.GetString(0));
        again.Reset();

        static void Use(SqliteStatement? native)
        {
            Assert.NotNull(native);
            native.Reset();
        }
    }

    [Fact]
    public async Task KeptSqliteStatement_FailsWithTheEngineErrorAndLeavesNothingRunning()
    {
        StatementPipeline.KeepPrepared(_connection);
        await StatementPipeline.ExecuteAsync(_connection, null, [new Statement(Insert, ("k", "a"), ("v", "1")), new Statement(Insert, ("k", "b"), ("v", "2"))]);

        await using (var tx = await _connection.BeginTransactionAsync())
        {
            var failed = await Assert.ThrowsAsync<SqliteException>(() => StatementPipeline.ScalarAsync(_connection, tx, new Statement(Insert, ("k", "a"), ("v", "dup"))));
            Assert.Equal(19, failed.SqliteErrorCode); // SQLITE_CONSTRAINT

            // A reader left after its first row is reset when the run ends: the commit is not held up by it.
            var first = "";
            await StatementPipeline.RunAsync(_connection, tx, [new Statement("SELECT k FROM t ORDER BY id")], async (_, reader) => first = await reader.ReadAsync() ? reader.GetString(0) : "");
            Assert.Equal("a", first);
            await StatementPipeline.ExecuteAsync(_connection, tx, [new Statement(Insert, ("k", "c"), ("v", null))]);
            await tx.CommitAsync();
        }

        Assert.Equal(["a=1", "b=2", "c="], await RowsAsync());
    }

    [Fact]
    public async Task KeyOnlyWrites_GiveTheKeyTheirReturningWould_ThroughSqliteAndAsCommands()
    {
        const string Write = "INSERT INTO t (k, v) VALUES (@k, @v)";
        const string Close = "UPDATE t SET v = @v WHERE id = @id AND v IS NULL";
        const string Touch = "UPDATE t SET v = v WHERE k = @k";
        Statement Insert(string k) => new(Write + " RETURNING id", ("k", k), ("v", null)) { KeyOnly = new KeyOnlyWrite(Write, Column: "id") };
        Statement Update(object id, string v) => new(Close + " RETURNING id", ("v", v), ("id", id)) { KeyOnly = new KeyOnlyWrite(Close, "id") };
        Statement ByName(string k) => new(Touch + " RETURNING k", ("k", k)) { KeyOnly = new KeyOnlyWrite(Touch, "k") };

        // The same writes compiled through SQLite (the key taken from SQLite), then each run on its own as a command
        // (not kept: the RETURNING clause itself answers): the same keys, the same rows.
        foreach (var kept in new[] { true, false })
        {
            if (kept)
            {
                StatementPipeline.KeepPrepared(_connection);
            }
            else
            {
                StatementPipeline.ForgetPrepared(_connection);
            }

            var prefix = kept ? "kept" : "command";
            await using var tx = await _connection.BeginTransactionAsync();
            var native = StatementPipeline.Native(_connection, tx, Insert("probe"));
            Assert.Equal(kept, native is { KeyOnly: true, FieldCount: 1 });
            native?.Reset();

            var first = await StatementPipeline.ScalarAsync(_connection, tx, Insert($"{prefix}-a"));
            var second = await StatementPipeline.ScalarAsync(_connection, tx, Insert($"{prefix}-b"));
            Assert.NotNull(first);
            Assert.Equal(first + 1, second);

            // Closed once; not again (no row changed: no row returned); no such row; the next row's key.
            var keys = new List<long?>();
            foreach (var statement in new[] { Update(first!.Value, "closed"), Update(first.Value, "again"), Update(999_999L, "none"), Insert($"{prefix}-c") })
            {
                keys.Add(await StatementPipeline.ScalarAsync(_connection, tx, statement));
            }

            Assert.Equal([first, null, null, second + 1], keys);

            // A text key: the row named, when the write found it (a value written unchanged still counts, as RETURNING
            // returns it); the column named as the RETURNING names it. (A pipeline compiles through SQLite within its
            // call either way: this part is the key-only form in both rounds, held to what RETURNING would give.)
            var names = new List<string?>();
            foreach (var k in new[] { $"{prefix}-a", "nobody" })
            {
                await StatementPipeline.RunAsync(
                    _connection,
                    tx,
                    [ByName(k)],
                    async (_, reader) => names.Add(await reader.ReadAsync() ? $"{reader.GetName(0)}={reader.GetString(0)}" : null));
            }

            Assert.Equal([$"k={prefix}-a", null], names);

            // A key given as anything but a number or text, or a key parameter the statement does not have: run as a
            // command, with the same answer.
            Assert.Null(StatementPipeline.Native(_connection, tx, Update((int)second!.Value, "x")));
            Assert.Equal(second, await StatementPipeline.ScalarAsync(_connection, tx, Update((int)second.Value, "by-int")));
            var misnamed = new Statement(Close + " RETURNING id", ("v", "misnamed"), ("id", second + 1)) { KeyOnly = new KeyOnlyWrite(Close, "Id") };
            Assert.Null(StatementPipeline.Native(_connection, tx, misnamed));
            Assert.Equal(second + 1, await StatementPipeline.ScalarAsync(_connection, tx, misnamed));
            await tx.CommitAsync();
        }

        Assert.Equal(["kept-a=closed", "kept-b=by-int", "kept-c=misnamed", "command-a=closed", "command-b=by-int", "command-c=misnamed"], await RowsAsync());
    }

    private async Task<List<string>> RowsAsync()
    {
        var rows = new List<string>();
        await StatementPipeline.RunAsync(
            _connection,
            null,
            [new Statement("SELECT k, v FROM t ORDER BY id")],
            async (_, reader) =>
            {
                while (await reader.ReadAsync())
                {
                    rows.Add($"{reader.GetString(0)}={(reader.IsDBNull(1) ? "" : reader.GetString(1))}");
                }
            });
        return rows;
    }
}
