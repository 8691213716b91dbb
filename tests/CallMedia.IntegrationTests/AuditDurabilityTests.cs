using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using CallMedia.Audit;
using CallMedia.Auth;
using CallMedia.Calls;
using CallMedia.Data;
using CallMedia.IntegrationTests.Infrastructure;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace CallMedia.IntegrationTests;

/// <summary>
/// The audit record of a transfer is in the database before its first byte, survives the server being killed, and
/// says how many bytes were really handed over when the client goes away.
/// </summary>
public sealed class AuditDurabilityTests
{
    private const int BigSize = 64 << 20;

    [Fact]
    public async Task Redemption_ServerKilledMidDownload_RecordSurvivesAndTheChainVerifiesAfterRestart()
    {
        await using var cluster = await Cluster.StartAsync(1);
        using var big = new BigFile(Path.Combine(cluster.DataDir, "media"));
        using var db = TestDatabase.Open(cluster.DatabaseArgs);
        var id = (await TestData.SeedAsync(db, [[TestData.FileOf(MediaType.Audio, big.Path)]]))[0];
        var client = cluster.Nodes[0].CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, $"id_call[]={id}&action=download");
        using (var response = await client.SendAsync(CallRec.Send(session, token), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await using var body = await response.Content.ReadAsStreamAsync();
            await body.ReadExactlyAsync(new byte[1 << 20]);
            cluster.Nodes[0].Kill(); // SIGKILL, mid-transfer: no finally block of the server runs.
        }

        var record = Assert.Single(await RowsAsync(db, "redeem", id));
        Assert.Equal(AuditLog.Started, record.Outcome);
        Assert.Null(record.Bytes);

        // A restarted node chains the record its dead predecessor left open, as it stands.
        var node = await cluster.AddNodeAsync("Audit:ChainOpenAfter=00:00:01", "Audit:ChainInterval=00:00:00.100");
        var waited = Stopwatch.StartNew();
        while ((await RowsAsync(db, "redeem", id)).Single().ChainSeq is null && waited.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(100);
        }

        record = Assert.Single(await RowsAsync(db, "redeem", id));
        Assert.NotNull(record.ChainSeq);
        Assert.Equal(AuditLog.Started, record.Outcome);
        var (exit, output, error) = await CliAsync(cluster, "audit", "verify");
        Assert.True(exit == 0, error);
        Assert.Contains("chain intact, 0 pending", output, StringComparison.Ordinal);

        // The token stays redeemed.
        using var again = node.CreateClient();
        using var refused = await again.SendAsync(CallRec.Send(session, token));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }

    [Fact]
    public async Task Redemption_CurlPipedIntoHead_RecordsTheBytesHandedOverAsIncomplete()
    {
        await using var setup = await ServerWithBigFile.StartAsync();
        var (server, id, session, token) = (setup.Server, setup.Id, setup.Session, setup.Token);
        var url = $"{server.BaseAddress.ToString().TrimEnd('/')}/callrec/sendcallfile.mp3?token={token}";
        var (exit, output, error) = await Tool.RunAsync("bash", ["-c", $"curl -s -b 'JSESSIONID={session}' '{url}' | head -c 5000000 | wc -c"]);
        Assert.True(exit == 0, error);
        Assert.Equal("5000000", output.Trim());

        var record = await ClosedAsync(server, "redeem", id);
        Assert.Equal("200-incomplete", record.Outcome);
        Assert.InRange(record.Bytes!.Value, 5_000_000, BigSize - 1);
    }

    [Fact]
    public async Task Redemption_ClosingWriteHeldUp_TheConnectionsNextRequestIsAnsweredAndTheRecordClosesLater()
    {
        // The record is in the database, open, before the first byte; its closing write (bytes, outcome) goes to the
        // next group commit without the request waiting, so a keep-alive client's next request is not held behind it.
        await using var setup = await ServerWithBigFile.StartAsync();
        var (server, id, session, token) = (setup.Server, setup.Id, setup.Session, setup.Token);
        using var oneConnection = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1, UseCookies = false }) { BaseAddress = server.BaseAddress };
        await using var blocker = await server.Services.GetRequiredService<Database>().OpenAsync();
        using (var response = await oneConnection.SendAsync(CallRec.Send(session, token), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            // The body cannot have been handed over yet (it is far larger than the socket buffers): no closing write has
            // run. Hold every write to the audit table until the next request has its answer.
            await blocker.ExecuteAsync(TestDatabase.IsPostgres ? "BEGIN; LOCK TABLE audit IN EXCLUSIVE MODE" : "BEGIN IMMEDIATE");
            Assert.Equal(BigSize, (await response.Content.ReadAsByteArrayAsync()).Length);
        }

        using (var next = await oneConnection.GetAsync("/").WaitAsync(TimeSpan.FromSeconds(10)))
        {
            Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        }

        Assert.Equal(AuditLog.Started, Assert.Single(await RowsAsync(server.Services.GetRequiredService<Database>(), "redeem", id)).Outcome);
        await blocker.ExecuteAsync("ROLLBACK");
        await server.FlushAuditAsync();
        var record = Assert.Single(await RowsAsync(server.Services.GetRequiredService<Database>(), "redeem", id));
        Assert.Equal(("200-complete", (long?)BigSize), (record.Outcome, record.Bytes));
    }

    [Fact]
    public async Task RangeRead_ClientsAbortUnderLoad_NoneIsRecordedComplete()
    {
        await using var setup = await ServerWithBigFile.StartAsync();
        var (server, id, session, token, client) = (setup.Server, setup.Id, setup.Session, setup.Token, setup.Client);
        using (var redeem = CallRec.Send(session, token))
        {
            redeem.Headers.Range = new RangeHeaderValue(0, 99);
            using var first = await client.SendAsync(redeem);
            Assert.Equal(HttpStatusCode.PartialContent, first.StatusCode);
        }

        await Parallel.ForEachAsync(Enumerable.Range(0, 12), async (i, ct) =>
        {
            using var own = server.CreateClient();
            using var request = CallRec.Send(session, token);
            request.Headers.Range = new RangeHeaderValue(i * 1000, null);
            using var response = await own.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
            await using var body = await response.Content.ReadAsStreamAsync(ct);
            await body.ReadExactlyAsync(new byte[256 << 10], ct);
        });

        var waited = Stopwatch.StartNew();
        List<AuditChain.AuditRow> ranges;
        do
        {
            await Task.Delay(100);
            ranges = await RowsAsync(server.Services.GetRequiredService<Database>(), "range", id);
        }
        while ((ranges.Count < 12 || ranges.Any(r => r.Outcome == AuditLog.Started)) && waited.Elapsed < TimeSpan.FromSeconds(60));

        Assert.Equal(12, ranges.Count);
        Assert.All(ranges, r =>
        {
            Assert.Equal("206-incomplete", r.Outcome);
            Assert.InRange(r.Bytes!.Value, 256 << 10, BigSize - 1);
        });
    }

    [Fact]
    public async Task Redemptions_ManyAtOnce_EachGetsItsOwnFileAndItsOwnRecord()
    {
        // Redemptions that arrive together share one transaction, their UPDATEs and their records each sent as one
        // pipeline: every request must still get its own token's file and its own record, never a neighbour's.
        await using var server = await TestServer.StartAsync();
        var folder = Directory.CreateTempSubdirectory("cm-many-");
        try
        {
            var files = Enumerable.Range(0, 24).Select(i =>
            {
                var path = Path.Combine(folder.FullName, $"call-{i}.mp3");
                File.WriteAllBytes(path, System.Security.Cryptography.RandomNumberGenerator.GetBytes(1000 + (i * 37)));
                return path;
            }).ToList();
            var ids = await server.SeedAsync(files.Select(f => (IReadOnlyList<SeedFile>)[TestData.FileOf(MediaType.Audio, f)]));
            using var client = server.CreateClient();
            var session = await CallRec.LoginAsync(client);
            var tokens = new List<string>();
            foreach (var id in ids)
            {
                tokens.Add(await CallRec.RequireTokenAsync(client, session, $"id_call[]={id}&action=download"));
            }

            var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var sends = tokens.Select(async token =>
            {
                using var own = server.CreateClient();
                using var request = CallRec.Send(session, token);
                await go.Task;
                using var response = await own.SendAsync(request);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                return await response.Content.ReadAsByteArrayAsync();
            }).ToList();
            go.SetResult();
            var bodies = await Task.WhenAll(sends);

            for (var i = 0; i < files.Count; i++)
            {
                Assert.Equal(await File.ReadAllBytesAsync(files[i]), bodies[i]);
                var record = await ClosedAsync(server, "redeem", ids[i]);
                Assert.Equal("200-complete", record.Outcome);
                Assert.Equal(new FileInfo(files[i]).Length, record.Bytes);
            }
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Redeem_WithAReadInItsPipeline_ReadRunsInTheRedeemingTransactionForTheWinnerOnly()
    {
        // On PostgreSQL a delivery's couples and files ride in the redeeming transaction's pipeline. The read must see
        // the redemption's own write (it runs inside that transaction, after the UPDATE) and run only for a winner.
        await using var server = await TestServer.StartAsync();
        var (ids, client, session) = await OneCallSignedInAsync(server, "pipelined.mp3");
        using var owned = client;
        var token = await CallRec.RequireTokenAsync(client, session, $"id_call[]={ids[0]}&action=download");
        var batcher = server.Services.GetRequiredService<CallMedia.Tokens.RedemptionBatcher>();
        var hash = CallMedia.Auth.Secrets.HashToken(token);
        var now = server.Clock.GetUtcNow().ToUnixTimeMilliseconds();
        var reads = new List<RedeemedAtRead>();
        PipelinedRead Read(CallMedia.Tokens.RedemptionBatcher.GrantRow row)
        {
            var read = new RedeemedAtRead(hash);
            reads.Add(read);
            return read;
        }

        var won = await batcher.RedeemAsync(hash, CallMedia.Auth.Secrets.HashSession(session), now, now + 60_000, null, Read);
        var lost = await batcher.RedeemAsync(hash, CallMedia.Auth.Secrets.HashSession(session), now, now + 60_000, null, Read);

        Assert.NotNull(won);
        Assert.Null(lost);
        var only = Assert.Single(reads);
        Assert.True(only.Done);
        Assert.Equal(now, only.RedeemedAt);
    }

    [Fact]
    public async Task CouplesAndFilesById_OneIdSeveralAndUnknown_FoundAsSeededByEveryRead()
    {
        // The delivery's couples-and-files read runs in the redeeming transaction's pipeline, and the token issue's on
        // a connection that keeps its statements compiled: one statement text for one id and one for a list (a JSON
        // array on SQLite). Every form must find exactly what was seeded, again on the second run of each.
        await using var server = await TestServer.StartAsync();
        var media = Path.Combine(server.DataDir, "media");
        var paths = Enumerable.Range(0, 4).Select(i => Path.Combine(media, $"read-{i}.mp3")).ToList();
        foreach (var path in paths)
        {
            await File.WriteAllBytesAsync(path, System.Security.Cryptography.RandomNumberGenerator.GetBytes(100));
        }

        var ids = await server.SeedAsync(
        [
            [TestData.FileOf(MediaType.Audio, paths[0])],
            [TestData.FileOf(MediaType.Audio, paths[1]), TestData.FileOf(MediaType.Video, paths[2])],
            [TestData.FileOf(MediaType.Audio, paths[3])],
        ]);
        var calls = server.Services.GetRequiredService<CallStore>();
        var db = server.Services.GetRequiredService<Database>();
        var cases = new (long[] Asked, long[] Found, string[] Files)[]
        {
            ([ids[1]], [ids[1]], [paths[1], paths[2]]),
            ([ids[2], ids[0], ids[1]], [ids[0], ids[1], ids[2]], [paths[0], paths[1], paths[2], paths[3]]),
            ([ids[2], 999_999_999], [ids[2]], [paths[3]]),
            ([999_999_999], [], []),
        };
        foreach (var (asked, found, files) in cases.Concat(cases))
        {
            var read = calls.CouplesWithFilesRead(asked) ?? throw new InvalidOperationException("no pipelined read for a few ids");
            await using (var connection = await db.OpenAsync())
            {
                await StatementPipeline.RunAsync(connection, null, read.Statements, read.ReadAsync);
            }

            Assert.True(read.Done);
            Assert.Equal(found, read.Result.Couples.Keys.Order());
            Assert.Equal(files, read.Result.Files.SelectMany(g => g).Select(f => f.Path).Order());
            Assert.Equal(found, (await calls.GetCouplesAsync(asked)).Keys.Order());
            Assert.Equal(files, (await calls.GetFilesAsync(asked)).SelectMany(g => g).Select(f => f.Path).Order());
            var (couples, together) = await calls.GetCouplesWithFilesAsync(asked);
            Assert.Equal(found, couples.Keys.Order());
            Assert.Equal(files, together.SelectMany(g => g).Select(f => f.Path).Order());
        }
    }

    [SkippableFact]
    public async Task GroupCommit_OnSqlite_LeavesCheckpointsToABackgroundLoop()
    {
        // The group's connection commits without checkpointing (below 10,000 pages of log); a loop of its own copies
        // the log into the database file within a fraction of a second. Without that loop the database file would not
        // change until the log held 10,000 pages.
        Skip.If(TestDatabase.IsPostgres, "write-ahead log checkpoints are SQLite's");
        await using var server = await TestServer.StartAsync();
        var (ids, client, session) = await OneCallSignedInAsync(server, "checkpoint.mp3");
        using var owned = client;
        var tokens = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            tokens.Add(await CallRec.RequireTokenAsync(client, session, $"id_call[]={ids[0]}&action=download"));
        }

        var database = Path.Combine(server.DataDir, "callmedia.db");
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={database}"))
        {
            await connection.OpenAsync();
            await connection.ExecuteAsync("PRAGMA wal_checkpoint(PASSIVE)");
        }

        var before = await File.ReadAllBytesAsync(database);
        foreach (var token in tokens)
        {
            using var response = await client.SendAsync(CallRec.Send(session, token));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var changed = false;
        for (var wait = Stopwatch.StartNew(); !changed && wait.Elapsed < TimeSpan.FromSeconds(10); await Task.Delay(50))
        {
            var now = await File.ReadAllBytesAsync(database);
            changed = !before.SequenceEqual(now);
        }

        Assert.True(changed, "the redemptions' writes never reached the database file: no checkpoint ran");
    }

    /// <summary>One seeded call with a 1,000-byte audio file named <paramref name="name"/>, and a signed-in client.</summary>
    private static async Task<(IReadOnlyList<long> Ids, HttpClient Client, string Session)> OneCallSignedInAsync(TestServer server, string name)
    {
        var file = Path.Combine(server.DataDir, "media", name);
        await File.WriteAllBytesAsync(file, System.Security.Cryptography.RandomNumberGenerator.GetBytes(1000));
        var ids = await server.SeedAsync([[TestData.FileOf(MediaType.Audio, file)]]);
        var client = server.CreateClient();
        return (ids, client, await CallRec.LoginAsync(client));
    }

    /// <summary>Reads the token's <c>redeemed_at</c>: set only by the redeeming UPDATE before it.</summary>
    private sealed class RedeemedAtRead(string hash) : PipelinedRead
    {
        public long? RedeemedAt { get; private set; }

        public override IReadOnlyList<Statement> Statements { get; } = [new Statement("SELECT redeemed_at FROM tokens WHERE hash = @hash", ("hash", hash))];

        protected override async Task ReadResultAsync(int index, System.Data.Common.DbDataReader reader) =>
            RedeemedAt = await StatementPipeline.FirstLongAsync(reader);
    }

    [Fact]
    public async Task AuditVerify_CountsOpenTransfersAsPending_ExportMarksThem_AndALateCompletionAddsAClosingRecord()
    {
        await using var server = await TestServer.StartAsync();
        var log = server.Services.GetRequiredService<AuditLog>();
        var open = await server.Services.GetRequiredService<CallMedia.Tokens.TokenService>().OpenRecordAsync(new AuditEntry(server.Clock.GetUtcNow(), "demo", "127.0.0.1", "redeem", "1001", null, AuditLog.Started));
        await log.WriteAsync(new AuditEntry(server.Clock.GetUtcNow(), "demo", "127.0.0.1", "login", null, null, "ok"));
        await server.FlushAuditAsync();

        var (exit, output, _) = await server.CliAsync("", "audit", "verify");
        Assert.Equal(0, exit);
        Assert.Contains("chain intact, 1 pending", output, StringComparison.Ordinal);
        var (_, csv, _) = await server.CliAsync("", "audit", "export");
        // seq,time_utc,user,client,action,couple_ids,bytes,outcome,prev_hash,hash,reason: the open record's hash is "pending".
        Assert.Single(csv.Split('\n'), l => l.StartsWith($"{open},", StringComparison.Ordinal) && l.Split(',')[9] == "pending");

        // Older than the limit: chained as it stands; its completion then comes as a record of its own.
        server.Clock.Advance(TimeSpan.FromHours(7));
        await server.FlushAuditAsync();
        await log.CompleteAsync(open, new AuditEntry(server.Clock.GetUtcNow(), "demo", "127.0.0.1", "redeem", "1001", 42, "200-complete"));
        await server.FlushAuditAsync();
        var rows = await RowsAsync(server.Services.GetRequiredService<Database>(), "redeem", 1001);
        Assert.Equal([AuditLog.Started, "200-complete"], rows.Select(r => r.Outcome));
        Assert.All(rows, r => Assert.NotNull(r.ChainSeq));
        var (after, afterOutput, afterError) = await server.CliAsync("", "audit", "verify");
        Assert.True(after == 0, afterError);
        Assert.Contains("chain intact, 0 pending", afterOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GroupCommit_TokenIssuesAndClosedTransfers_JoinTheChainInTheirOwnWrites()
    {
        // The chainer runs once at start, then not for an hour: only the group commit can chain what follows.
        await using var server = await TestServer.StartAsync("Audit:ChainInterval=01:00:00");
        const long id = 1003;
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        for (var i = 0; i < 3; i++)
        {
            var token = await CallRec.RequireTokenAsync(client, session, $"id_call[]={id}&action=download");
            using var response = await client.SendAsync(CallRec.Send(session, token));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await response.Content.ReadAsByteArrayAsync();
        }

        await server.Services.GetRequiredService<CallMedia.Delivery.TransferRecords>().SettledAsync();
        var db = server.Services.GetRequiredService<Database>();
        var redeemed = await RowsAsync(db, "redeem", id);
        Assert.Equal(3, redeemed.Count);
        Assert.All(redeemed, r => Assert.Equal(("200-complete", false), (r.Outcome, r.ChainSeq is null)));
        await using (var connection = await db.OpenAsync())
        {
            Assert.Equal(3, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM audit WHERE action = 'token.download' AND chain_seq IS NOT NULL"));
            // The sign-in's record is written outside the group: it waits for the chainer, which is not running.
            Assert.Equal(1, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM audit WHERE action = 'login' AND chain_seq IS NULL"));
        }

        var (exit, output, error) = await server.CliAsync("", "audit", "verify");
        Assert.True(exit == 0, error);
        Assert.Contains("chain intact", output, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task GroupCommit_ChosenToEndADeadlockWithASignOut_RunsAgain_ItsRequestsAreAnsweredNotFailed()
    {
        // A writer that locks a session and then the session's tokens (another program writing the database: the
        // product's own sign-outs lock in the group's order, the test below); a group that redeems one of those tokens
        // and issues one for the same session locks them the other way round. PostgreSQL ends such a deadlock by failing
        // one side: when it is the group, the group runs again (and sees what the other side committed) instead of
        // failing every request in it.
        Skip.IfNot(TestDatabase.IsPostgres, "SQLite runs one writer at a time: no deadlock between writers");
        await using var server = await TestServer.StartAsync();
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var first = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001&action=download");
        var second = await CallRec.RequireTokenAsync(client, session, "id_call[]=1002&action=download");
        var db = server.Services.GetRequiredService<Database>();
        await using var signOut = await db.OpenAsync();
        await using var holder = await db.OpenAsync();
        var (firstHash, sessionHash) = await signOut.QuerySingleAsync<(string, string)>("SELECT hash, session_hash FROM tokens WHERE couple_ids = '1001'");
        var secondHash = await signOut.QuerySingleAsync<string>("SELECT hash FROM tokens WHERE couple_ids = '1002'");
        async Task WaitForLockWaitsAsync()
        {
            var waited = Stopwatch.StartNew();
            while (await signOut.ExecuteScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid() AND datname = current_database()") == 0)
            {
                Assert.True(waited.Elapsed < TimeSpan.FromSeconds(10), "no group waited for a lock");
                await Task.Delay(20);
            }
        }

        // A group is held on the first token's row, so what comes next queues up for one group together.
        await holder.ExecuteAsync("BEGIN; SELECT 1 FROM tokens WHERE hash = @firstHash FOR UPDATE", new { firstHash });
        var redeemFirst = client.SendAsync(CallRec.Send(session, first));
        await WaitForLockWaitsAsync();

        // The sign-out's side, slow to give up (its deadlock check comes long after the group's): the session first.
        await signOut.ExecuteAsync("BEGIN; SET LOCAL deadlock_timeout = '30s'; SELECT 1 FROM sessions WHERE id_hash = @sessionHash FOR UPDATE", new { sessionHash });
        var redeemSecond = client.SendAsync(CallRec.Send(session, second));
        var issue = CallRec.TokenAsync(client, session, "id_call[]=1003&action=download");
        // Time for both to reach the writer's queue: nothing outside the process shows a queued write (both only read
        // before they queue, and reads wait for no lock), and a test-only counter would cost every request an update.
        await Task.Delay(1000);
        await holder.ExecuteAsync("COMMIT");
        using (var redeemed = await redeemFirst)
        {
            Assert.Equal(HttpStatusCode.OK, redeemed.StatusCode);
        }

        // The next group has locked the second token and waits for the session; the sign-out now asks for that token.
        await WaitForLockWaitsAsync();
        await signOut.ExecuteAsync("UPDATE tokens SET revoked = 1 WHERE hash = @secondHash", new { secondHash });
        await signOut.ExecuteAsync("COMMIT");

        using (var revoked = await redeemSecond)
        {
            Assert.Equal(HttpStatusCode.Forbidden, revoked.StatusCode); // revoked by the committed side, not a failed group
        }

        var (status, token, _) = await issue;
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.NotNull(token);
    }

    [SkippableTheory]
    [InlineData("sign-out")]
    [InlineData("disable")]
    [InlineData("password")]
    public async Task EndingSessions_WhileAGroupHoldsOneOfTheirTokens_WaitsForItWithoutHoldingASessionTheGroupNeeds(string how)
    {
        // A group commit locks tokens (a redemption), then sessions (a token issue for the same session). Ending a
        // session — a sign-out, or a user disabled or given a new password — takes the same order; in the other order
        // the two would deadlock and PostgreSQL would fail one of them, perhaps the sign-out.
        Skip.IfNot(TestDatabase.IsPostgres, "SQLite runs one writer at a time: no deadlock between writers");
        await using var server = await TestServer.StartAsync();
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        await CallRec.RequireTokenAsync(client, session, "id_call[]=1001&action=download");
        var db = server.Services.GetRequiredService<Database>();
        await using var group = await db.OpenAsync();
        await using var watcher = await db.OpenAsync();
        var (hash, sessionHash) = await group.QuerySingleAsync<(string, string)>("SELECT hash, session_hash FROM tokens WHERE couple_ids = '1001'");
        await group.ExecuteAsync("BEGIN; SELECT 1 FROM tokens WHERE hash = @hash FOR UPDATE", new { hash });

        var ending = how switch
        {
            "sign-out" => server.Services.GetRequiredService<SessionService>().EndAsync(sessionHash),
            "disable" => server.Services.GetRequiredService<UserStore>().SetDisabledAsync("demo", true),
            _ => server.Services.GetRequiredService<UserStore>().SetPasswordAsync("demo", "another-password-1234"),
        };
        var waited = Stopwatch.StartNew();
        while (await watcher.ExecuteScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid() AND datname = current_database()") == 0)
        {
            Assert.False(ending.IsCompleted, "ending the session did not wait for the token the group holds");
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(10), "ending the session never waited for a lock");
            await Task.Delay(20);
        }

        // The group's next step; with the session held by the other side this is a deadlock, which PostgreSQL ends by
        // failing one side after a second.
        await group.ExecuteAsync("SET LOCAL lock_timeout = '20s'; UPDATE sessions SET token_window_count = token_window_count WHERE id_hash = @sessionHash", new { sessionHash });
        await group.ExecuteAsync("COMMIT");
        await ending.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.NotNull(await watcher.ExecuteScalarAsync<long?>("SELECT ended_at FROM sessions WHERE id_hash = @sessionHash", new { sessionHash }));
        Assert.Equal(1L, await watcher.ExecuteScalarAsync<long>("SELECT revoked FROM tokens WHERE hash = @hash", new { hash }));
    }

    [Fact]
    public async Task GroupCommit_RecordChainedMeanwhileByANodeWhoseClockIsAhead_TheGroupRunsAgainAndTheChainHolds()
    {
        // The group chains a closing record only if it is young enough that no chainer can have chained it as it stood
        // (Audit:ChainOpenAfter); a node whose clock is hours ahead can. Its closing write must then still land.
        await using var setup = await ServerWithBigFile.StartAsync();
        var (server, id, session, token) = (setup.Server, setup.Id, setup.Session, setup.Token);
        var db = server.Services.GetRequiredService<Database>();
        using (var response = await setup.Client.SendAsync(CallRec.Send(session, token), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var ahead = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(server.Clock.GetUtcNow() + TimeSpan.FromHours(7));
            var otherNode = new AuditLog(db, ahead, Microsoft.Extensions.Options.Options.Create(new AuditOptions()), Microsoft.Extensions.Logging.Abstractions.NullLogger<AuditLog>.Instance);
            await otherNode.FlushAsync();
            Assert.NotNull(Assert.Single(await RowsAsync(db, "redeem", id)).ChainSeq);
            Assert.Equal(BigSize, (await response.Content.ReadAsByteArrayAsync()).Length);
        }

        await server.FlushAuditAsync();
        var rows = await RowsAsync(db, "redeem", id);
        Assert.Equal([(AuditLog.Started, (long?)null), ("200-complete", BigSize)], rows.Select(r => (r.Outcome, r.Bytes)));
        Assert.All(rows, r => Assert.NotNull(r.ChainSeq));
        Assert.Contains(server.Log.Lines, l => l.Contains("found a record it meant to chain chained already", StringComparison.Ordinal));
        var (exit, output, error) = await server.CliAsync("", "audit", "verify");
        Assert.True(exit == 0, error);
        Assert.Contains("chain intact, 0 pending", output, StringComparison.Ordinal);
    }

    private static async Task<AuditChain.AuditRow> ClosedAsync(TestServer server, string action, long id)
    {
        var db = server.Services.GetRequiredService<Database>();
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < TimeSpan.FromSeconds(30))
        {
            if ((await RowsAsync(db, action, id)).SingleOrDefault() is { } row && row.Outcome != AuditLog.Started)
            {
                return row;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"no closed {action} record for {id}");
    }

    private static async Task<List<AuditChain.AuditRow>> RowsAsync(Database db, string action, long id)
    {
        await using var connection = await db.OpenAsync();
        return (await connection.QueryAsync<AuditChain.AuditRow>(
            "SELECT seq, at, user_name, client, action, couple_ids, bytes, outcome, prev_hash, hash, chain_seq, in_progress FROM audit WHERE action = @action AND couple_ids = @ids ORDER BY seq",
            new { action, ids = id.ToString(CultureInfo.InvariantCulture) })).ToList();
    }

    private static async Task<(int Exit, string Out, string Error)> CliAsync(Cluster cluster, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await CallMedia.Cli.CliApp.RunAsync([.. args, .. cluster.DatabaseArgs], new CallMedia.Cli.CliConsole(new StringReader(""), output, error, false));
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>A server with one couple whose stored file is <see cref="BigFile"/>, signed in, with a download token for it.</summary>
    private sealed class ServerWithBigFile : IAsyncDisposable
    {
        private readonly BigFile _big = new();

        public TestServer Server { get; private set; } = null!;

        public HttpClient Client { get; private set; } = null!;

        public long Id { get; private set; }

        public string Session { get; private set; } = "";

        public string Token { get; private set; } = "";

        public static async Task<ServerWithBigFile> StartAsync()
        {
            var setup = new ServerWithBigFile { Server = await TestServer.StartAsync() };
            setup.Id = (await setup.Server.SeedAsync([[TestData.FileOf(MediaType.Audio, setup._big.Path)]]))[0];
            setup.Client = setup.Server.CreateClient();
            setup.Session = await CallRec.LoginAsync(setup.Client);
            setup.Token = await CallRec.RequireTokenAsync(setup.Client, setup.Session, $"id_call[]={setup.Id}&action=download");
            return setup;
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await Server.DisposeAsync();
            _big.Dispose();
        }
    }

    /// <summary>A stored file large enough that no transfer of it finishes by accident before the client goes.</summary>
    private sealed class BigFile : IDisposable
    {
        public BigFile(string? folder = null)
        {
            Path = System.IO.Path.Combine(folder ?? System.IO.Path.GetTempPath(), $"big-{Guid.NewGuid():N}.mp4");
            using var file = File.Create(Path);
            file.SetLength(BigSize);
        }

        public string Path { get; }

        public void Dispose() => File.Delete(Path);
    }
}
