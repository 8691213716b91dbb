using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using CallMedia.IntegrationTests.Infrastructure;
using Dapper;

namespace CallMedia.IntegrationTests;

/// <summary>
/// Three `callmedia serve` processes sharing one database and one media folder, as behind a load balancer
/// (on PostgreSQL in the PostgreSQL run; on one SQLite file, which several processes of one machine may share,
/// in the SQLite run).
/// </summary>
public sealed class MultiNodeTests
{
    /// <summary><c>Sessions:ChangePollInterval</c>'s default, and some slack: a change made elsewhere is seen by then.</summary>
    private static readonly TimeSpan PollBound = TimeSpan.FromMilliseconds(250 + 100);

    [Fact]
    public async Task Nodes_ShareSessionsTokensAndTheRangeLease_RedemptionIsExactlyOnceAcrossNodes()
    {
        await using var cluster = await Cluster.StartAsync(3);
        var clients = cluster.Nodes.Select(n => n.CreateClient()).ToList();
        var session = await CallRec.LoginAsync(clients[0]);

        // A session from node A works on node B; a token from B is good on C.
        var token = await CallRec.RequireTokenAsync(clients[1], session, "id_call[]=1003");
        using (var first = await clients[2].SendAsync(CallRec.Send(session, token)))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        // The range lease holds on every node; a plain request is refused on every node.
        foreach (var client in clients)
        {
            using var range = CallRec.Send(session, token);
            range.Headers.Range = new RangeHeaderValue(10, 19);
            using var response = await client.SendAsync(range);
            Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
            using var plain = await client.SendAsync(CallRec.Send(session, token));
            Assert.Equal(HttpStatusCode.Forbidden, plain.StatusCode);
        }

        // 50 tokens, each fired 10 times at once across the three nodes: exactly one success per token.
        var tokens = new List<string>();
        for (var i = 0; i < 50; i++)
        {
            tokens.Add(await CallRec.RequireTokenAsync(clients[i % 3], session, "id_call[]=1003"));
        }

        var successes = 0;
        await Parallel.ForEachAsync(
            tokens.SelectMany(t => Enumerable.Range(0, 10).Select(i => (Token: t, Node: i % 3))),
            new ParallelOptions { MaxDegreeOfParallelism = 30 },
            async (shot, ct) =>
            {
                using var response = await clients[shot.Node].SendAsync(CallRec.Send(session, shot.Token), ct);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref successes);
                }
            });
        Assert.Equal(50, successes);

        // Several writers, one chain.
        var (exit, output, error) = await CliAsync(cluster, "audit", "verify");
        Assert.True(exit == 0, error);
        Assert.Contains("chain intact", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RevokedRightAndDisabledUser_ChangedElsewhere_TakeEffectWithinThePollIntervalOnAnotherNode()
    {
        await using var cluster = await Cluster.StartAsync(2);
        Assert.Equal(0, (await CliWithInputAsync(cluster, "pw-ruth-1\n", "user", "add", "ruth", "--role", "downloader")).Exit);
        var a = cluster.Nodes[0].CreateClient();
        var b = cluster.Nodes[1].CreateClient();
        var session = await CallRec.LoginAsync(a, "ruth", "pw-ruth-1");

        // Node B holds the session and the rights in memory after these.
        for (var i = 0; i < 3; i++)
        {
            var used = await CallRec.RequireTokenAsync(b, session, "id_call[]=1001&action=download");
            using var sent = await b.SendAsync(CallRec.Send(session, used));
            Assert.Equal(HttpStatusCode.OK, sent.StatusCode);
        }

        // The right goes away through another process: within the poll interval (the nodes' default, 250 ms) B
        // refuses, for the send and for a new token.
        var token = await CallRec.RequireTokenAsync(b, session, "id_call[]=1001&action=download");
        var (exit, _, error) = await CliAsync(cluster, "user", "revoke", "ruth", "downloader");
        Assert.True(exit == 0, error);
        await Task.Delay(PollBound);
        using (var response = await b.SendAsync(CallRec.Send(session, token)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Forbidden, (await CallRec.TokenAsync(b, session, "id_call[]=1001&action=download")).Status);

        // Granted again, then the user disabled (which ends the session) elsewhere: B sends to sign-in.
        Assert.Equal(0, (await CliAsync(cluster, "user", "grant", "ruth", "downloader")).Exit);
        await Task.Delay(PollBound);
        token = await CallRec.RequireTokenAsync(b, session, "id_call[]=1001&action=download");
        Assert.Equal(0, (await CliAsync(cluster, "user", "disable", "ruth")).Exit);
        await Task.Delay(PollBound);
        using (var response = await b.SendAsync(CallRec.Send(session, token)))
        {
            Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        }
    }

    [Fact]
    public async Task NodesStartingAtOnceOnAnEmptyDatabase_MigrateItExactlyOnce_AndAllServe()
    {
        await using var cluster = await Cluster.StartAllAtOnceOnEmptyAsync(3);
        using var db = TestDatabase.Open(cluster.DatabaseArgs);
        await using (var connection = await db.OpenAsync())
        {
            var versions = (await connection.QueryAsync<long>("SELECT version FROM schema_version ORDER BY version")).ToList();
            Assert.Equal(Enumerable.Range(1, CallMedia.Data.Migrations.LatestVersion).Select(v => (long)v), versions);
        }

        foreach (var node in cluster.Nodes)
        {
            using var client = node.CreateClient();
            Assert.Equal("ok\n", await client.GetStringAsync("/healthz"));
        }
    }

    [Fact]
    public async Task TranscodeCache_FilledByOneNode_IsServedByAnother()
    {
        await using var cluster = await Cluster.StartAsync(2);
        var a = cluster.Nodes[0].CreateClient();
        var b = cluster.Nodes[1].CreateClient();
        var session = await CallRec.LoginAsync(a);
        var token = await CallRec.RequireTokenAsync(a, session, "id_call[]=1022");
        using (var live = await a.SendAsync(CallRec.Send(session, token), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            Assert.True(live.Headers.TransferEncodingChunked); // streamed while node A transcoded
            await live.Content.ReadAsByteArrayAsync();
        }

        var cached = await TestStorage.ListAsync(cluster.DataDir, cluster.DatabaseArgs, ".cache/mp3/");
        var file = Assert.Single(cached);
        using var range = CallRec.Send(session, token);
        range.Headers.Range = new RangeHeaderValue(0, null);
        using var fromB = await b.SendAsync(range);
        Assert.Equal(HttpStatusCode.PartialContent, fromB.StatusCode);
        Assert.Equal(await TestStorage.ReadAsync(cluster.DataDir, cluster.DatabaseArgs, file), await fromB.Content.ReadAsByteArrayAsync());
        Assert.Single(await TestStorage.ListAsync(cluster.DataDir, cluster.DatabaseArgs, ".cache/mp3/"));
    }

    [Fact]
    public async Task PrepareJob_NodeDiesMidJob_AnotherNodeFinishesIt_OneOutput()
    {
        await using var cluster = await Cluster.StartAsync(2, "Media:JobLease=00:00:03");
        var work = Directory.CreateTempSubdirectory("callmedia-nodes-").FullName;
        try
        {
            // A capture long enough to be caught mid-job.
            var capture = Path.Combine(work, "long.mkv");
            var audio = Path.Combine(work, "long.wav");
            await Tool.RequireAsync("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25:duration=90", "-c:v", "libx264", "-preset", "ultrafast", "-f", "matroska", capture);
            await Tool.RequireAsync("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "sine=f=300:r=8000:d=90", audio);
            var manifest = Path.Combine(work, "m.csv");
            await File.WriteAllTextAsync(manifest, $"sid,start,stop,calling_number,called_number,type,path\nnodes-1,2026-11-20T09:00:00Z,2026-11-20T09:01:30Z,100,200,audio,{audio}\nnodes-1,2026-11-20T09:00:00Z,2026-11-20T09:01:30Z,100,200,recd,{capture}\n");
            Assert.Equal(0, (await CliAsync(cluster, "import", manifest)).Exit);
            using var db = TestDatabase.Open(cluster.DatabaseArgs);
            long coupleId;
            await using (var connection = await db.OpenAsync())
            {
                coupleId = await connection.ExecuteScalarAsync<long>("SELECT id FROM couples WHERE sid = 'nodes-1'");
            }

            var client = cluster.Nodes[0].CreateClient();
            var session = await CallRec.LoginAsync(client);
            var token = await CallRec.RequireTokenAsync(client, session, $"id_call[]={coupleId}&type=16&action=prepare");
            using (var request = CallRec.Send(session, token, "mp4"))
            {
                request.Headers.Add("Prefer", "respond-async");
                using var accepted = await client.SendAsync(request);
                Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
            }

            // Find the node that claimed it, and kill that one while it works.
            string? owner = null;
            var waited = Stopwatch.StartNew();
            while (waited.Elapsed < TimeSpan.FromSeconds(60))
            {
                await using var connection = await db.OpenAsync();
                var row = await connection.QuerySingleAsync<(string? Owner, long Progress)>("SELECT owner, progress FROM jobs WHERE couple_id = @coupleId", new { coupleId });
                if (row.Owner is not null && row.Progress > 0)
                {
                    owner = row.Owner;
                    break;
                }

                await Task.Delay(50);
            }

            Assert.NotNull(owner);
            var victim = cluster.Nodes.Single(n => owner!.EndsWith($":{n.Process.Id}", StringComparison.Ordinal));
            victim.Kill();

            var finished = Stopwatch.StartNew();
            string? state = null;
            string? finalOwner = null;
            while (finished.Elapsed < TimeSpan.FromSeconds(300))
            {
                await using var connection = await db.OpenAsync();
                (state, finalOwner) = await connection.QuerySingleAsync<(string, string?)>("SELECT state, owner FROM jobs WHERE couple_id = @coupleId", new { coupleId });
                if (state is "done" or "failed")
                {
                    break;
                }

                await Task.Delay(200);
            }

            Assert.Equal("done", state);
            Assert.NotEqual(owner, finalOwner);
            await using (var connection = await db.OpenAsync())
            {
                Assert.Equal(1, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM media_files WHERE couple_id = @coupleId AND type = 16", new { coupleId }));
            }

            Assert.Single(await TestStorage.ListAsync(cluster.DataDir, cluster.DatabaseArgs), k => Path.GetFileName(k).StartsWith($"{coupleId}-video-", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static Task<(int Exit, string Out, string Error)> CliAsync(Cluster cluster, params string[] args) => CliWithInputAsync(cluster, "", args);

    private static async Task<(int Exit, string Out, string Error)> CliWithInputAsync(Cluster cluster, string input, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await CallMedia.Cli.CliApp.RunAsync([.. args, .. cluster.DatabaseArgs], new CallMedia.Cli.CliConsole(new StringReader(input), output, error, false));
        return (exit, output.ToString(), error.ToString());
    }
}

/// <summary>Stopping the database server would break every other test using it, so this collection runs alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DatabaseOutageCollection
{
    public const string Name = "database outage";
}

[Collection(DatabaseOutageCollection.Name)]
public sealed class DatabaseOutageTests
{
    [SkippableFact]
    public async Task DatabaseGoesAwayAndBack_RequestsGet503_NodesRecoverWithoutRestart()
    {
        Skip.IfNot(TestDatabase.IsPostgres, "a database server that can go away is PostgreSQL's case; SQLite is a file");
        await using var cluster = await Cluster.StartAsync(2);
        var clients = cluster.Nodes.Select(n => n.CreateClient()).ToList();
        var session = await CallRec.LoginAsync(clients[0]);
        await CallRec.RequireTokenAsync(clients[1], session, "id_call[]=1001");

        await PgCtlAsync("stop", "-m", "fast");
        try
        {
            foreach (var client in clients)
            {
                var (status, _, body) = await CallRec.TokenAsync(client, session, "id_call[]=1001");
                Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
                Assert.Contains("database is unavailable", body, StringComparison.Ordinal);
            }
        }
        finally
        {
            await PgCtlAsync("start", "-w");
        }

        foreach (var client in clients)
        {
            var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001");
            using var response = await client.SendAsync(CallRec.Send(session, token));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    private static async Task PgCtlAsync(params string[] args)
    {
        var bin = Environment.GetEnvironmentVariable("CALLMEDIA_TEST_PGBIN")!;
        var data = Environment.GetEnvironmentVariable("CALLMEDIA_TEST_PGDATA")!;
        var pgctl = Path.Combine(bin, "pg_ctl");
        string[] command = [pgctl, "-D", data, "-l", Path.Combine(Path.GetDirectoryName(data)!, "log"), .. args];
        var (exit, output, error) = Environment.UserName == "root"
            ? await Tool.RunAsync("runuser", ["-u", "postgres", "--", .. command])
            : await Tool.RunAsync(pgctl, command.Skip(1));
        Assert.True(exit == 0, $"pg_ctl {string.Join(' ', args)}: {output} {error}");
    }

}
