using System.Diagnostics;
using System.Net;
using CallMedia.Data;
using CallMedia.IntegrationTests.Infrastructure;
using CallMedia.Retention;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace CallMedia.IntegrationTests;

/// <summary>
/// Retention policies, legal holds and the purge (issue 17), over the real server with its fake clock: the purge runs
/// through POST /api/v1/retention/run, which uses the server's clock. The scheduled purge is off here
/// (<c>Retention:Interval=0</c>) except where it is the subject.
/// </summary>
public sealed class RetentionTests
{
    private const string AdminName = "retention-admin";
    private const string AdminPassword = "retention-admin-password";

    private static Task<TestServer> StartAsync(params string[] config) => TestServer.StartAsync(["Retention:Interval=00:00:00", .. config]);

    private static async Task<ApiClient> AdminAsync(TestServer server)
    {
        await server.AddUserAsync(AdminName, AdminPassword, ["admin"]);
        var api = await ApiClient.CreateAsync(server);
        await api.SignInAsync(AdminName, AdminPassword);
        return api;
    }

    private static string UniqueNumber() => "+1555" + Random.Shared.NextInt64(10_000_000, 99_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A couple that ended at <paramref name="stop"/>, with one stored file (in the media root) per type given.</summary>
    private static async Task<(long Id, string Sid, List<string> Files)> SeedAsync(Database db, string dataDir, DateTimeOffset stop, string number, params int[] types)
    {
        var sid = "ret-" + Guid.NewGuid().ToString("N");
        var folder = Path.Combine(dataDir, "media", "retention");
        Directory.CreateDirectory(folder);
        var paths = new List<string>();
        await using var connection = await db.OpenAsync();
        await using var tx = await connection.BeginTransactionAsync();
        var start = stop.AddMinutes(-1).ToUnixTimeMilliseconds();
        var id = await connection.ExecuteScalarAsync<long>(
            """
            INSERT INTO couples (sid, start_at, stop_at, calling_number, calling_name, called_number, called_name, types)
            VALUES (@sid, @start, @stop, @number, 'Held Caller', '3001', 'Agent', @types) RETURNING id
            """,
            new { sid, start, stop = stop.ToUnixTimeMilliseconds(), number, types = types.Aggregate(0, (a, t) => a | t) },
            tx);
        foreach (var type in types)
        {
            var format = type == 1 ? "mp3" : type == 16 ? "mp4" : "recd";
            var relative = $"retention/{sid}-{type}.{format}";
            var bytes = new byte[4096 + type];
            Random.Shared.NextBytes(bytes);
            await File.WriteAllBytesAsync(Path.Combine(dataDir, "media", relative), bytes);
            var crc = System.IO.Hashing.Crc32.HashToUInt32(bytes);
            await connection.ExecuteAsync(
                "INSERT INTO media_files (couple_id, type, path, format, size, crc32, start_at, stop_at) VALUES (@id, @type, @relative, @format, @size, @crc, @start, @stop)",
                new { id, type, relative, format, size = bytes.Length, crc = (long)crc, start, stop = stop.ToUnixTimeMilliseconds() },
                tx);
            paths.Add(Path.Combine(dataDir, "media", relative));
        }

        await tx.CommitAsync();
        return (id, sid, paths);
    }

    private static async Task<(long Types, long PurgedTypes, long Files)> StateAsync(TestServer server, long id)
    {
        await using var connection = await server.Services.GetRequiredService<Database>().OpenAsync();
        var (types, purged) = await connection.QuerySingleAsync<(long, long)>("SELECT types, purged_types FROM couples WHERE id = @id", new { id });
        var files = await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM media_files WHERE couple_id = @id", new { id });
        return (types, purged, files);
    }

    private static async Task<ApiResponse> RunAsync(ApiClient api, bool dryRun = false)
    {
        // The fake clock moves by days in these tests: a session from before has expired.
        await api.SignInAsync(AdminName, AdminPassword);
        var run = await api.PostAsync("/api/v1/retention/run", new { dryRun });
        Assert.True(run.Status == HttpStatusCode.OK, run.Body);
        return run;
    }

    private static async Task<long> PurgeRecordsAsync(TestServer server, long id)
    {
        await using var connection = await server.Services.GetRequiredService<Database>().OpenAsync();
        return await connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM audit WHERE action = 'retention.purge' AND couple_ids = @ids AND outcome = 'purged'", new { ids = id.ToString(System.Globalization.CultureInfo.InvariantCulture) });
    }

    [Fact]
    public async Task Purge_CallJustInsideThenJustOutsideItsPolicy_KeptThenPurgedWithOneAuditRecord()
    {
        await using var server = await StartAsync();
        using var api = await AdminAsync(server);
        var number = UniqueNumber();
        var stop = server.Clock.GetUtcNow().AddMinutes(-5);
        var call = await SeedAsync(server.Services.GetRequiredService<Database>(), server.DataDir, stop, number, 1);
        var other = await SeedAsync(server.Services.GetRequiredService<Database>(), server.DataDir, stop, UniqueNumber(), 1);
        var added = await api.PostAsync("/api/v1/retention/policies", new { name = "short", media = "audio", numbers = new[] { number }, keep = "30d" });
        Assert.Equal(HttpStatusCode.Created, added.Status);

        server.Clock.SetUtcNow(stop.AddDays(30).AddMilliseconds(-1));
        var inside = (await RunAsync(api)).Json;
        Assert.Equal(0, inside.GetProperty("calls").GetInt32());
        Assert.Equal((1L, 0L, 1L), await StateAsync(server, call.Id));
        Assert.True(File.Exists(call.Files[0]));

        server.Clock.Advance(TimeSpan.FromMilliseconds(1));
        var outside = (await RunAsync(api)).Json;
        Assert.Equal(1, outside.GetProperty("calls").GetInt32());
        Assert.Equal(call.Id, outside.GetProperty("items")[0].GetProperty("id").GetInt64());
        Assert.Equal(4097, outside.GetProperty("bytes").GetInt64());
        Assert.Equal((0L, 1L, 0L), await StateAsync(server, call.Id));
        Assert.False(File.Exists(call.Files[0]));
        Assert.Equal(1, await PurgeRecordsAsync(server, call.Id));

        // Another policy's calls are not touched; a second run finds nothing more.
        Assert.Equal((1L, 0L, 1L), await StateAsync(server, other.Id));
        Assert.Equal(0, (await RunAsync(api)).Json.GetProperty("calls").GetInt32());
        Assert.Equal(1, await PurgeRecordsAsync(server, call.Id));
        await server.FlushAuditAsync();
        Assert.True((await api.GetAsync("/api/v1/audit/verify")).Json.GetProperty("ok").GetBoolean());
    }

    [Fact]
    public async Task Purge_TwoMatchingPolicies_TheLongestWinsPerMediaType()
    {
        await using var server = await StartAsync();
        using var api = await AdminAsync(server);
        var number = UniqueNumber();
        var stop = server.Clock.GetUtcNow().AddMinutes(-5);
        var call = await SeedAsync(server.Services.GetRequiredService<Database>(), server.DataDir, stop, number, 1, 16);
        Assert.Equal(HttpStatusCode.Created, (await api.PostAsync("/api/v1/retention/policies", new { name = "everything-10d", numbers = new[] { number }, keep = "10d" })).Status);
        Assert.Equal(HttpStatusCode.Created, (await api.PostAsync("/api/v1/retention/policies", new { name = "audio-6w", media = "audio", numbers = new[] { number }, keep = "6w" })).Status);

        server.Clock.SetUtcNow(stop.AddDays(10));
        var first = (await RunAsync(api)).Json;
        Assert.Equal(["video"], first.GetProperty("items")[0].GetProperty("media").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal((1L, 16L, 1L), await StateAsync(server, call.Id));
        Assert.True(File.Exists(call.Files[0]));
        Assert.False(File.Exists(call.Files[1]));

        server.Clock.SetUtcNow(stop.AddDays(42).AddMilliseconds(-1));
        Assert.Equal(0, (await RunAsync(api)).Json.GetProperty("calls").GetInt32());
        server.Clock.SetUtcNow(stop.AddDays(42));
        var second = (await RunAsync(api)).Json;
        Assert.Equal(["audio-6w"], second.GetProperty("items")[0].GetProperty("policies").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal((0L, 17L, 0L), await StateAsync(server, call.Id));
        Assert.False(File.Exists(call.Files[0]));
        Assert.Equal(2, await PurgeRecordsAsync(server, call.Id));
    }

    [Fact]
    public async Task Hold_OnACallPastItsTime_KeepsIt_ReleaseIsRecordedAndTheNextRunPurges()
    {
        await using var server = await StartAsync();
        using var api = await AdminAsync(server);
        var number = UniqueNumber();
        var stop = server.Clock.GetUtcNow().AddMinutes(-5);
        var db = server.Services.GetRequiredService<Database>();
        var byId = await SeedAsync(db, server.DataDir, stop, number, 1);
        var bySid = await SeedAsync(db, server.DataDir, stop, number, 1);
        var byRange = await SeedAsync(db, server.DataDir, stop.AddHours(-3), number, 1);
        await api.PostAsync("/api/v1/retention/policies", new { name = "p", numbers = new[] { number }, keep = "1y" });
        var hold = await api.PostAsync("/api/v1/retention/holds", new { callId = byId.Id, reason = "Case 4711" });
        Assert.Equal(HttpStatusCode.Created, hold.Status);
        Assert.Equal(AdminName, hold.Json.GetProperty("placedBy").GetString());
        Assert.Equal(HttpStatusCode.Created, (await api.PostAsync("/api/v1/retention/holds", new { sid = bySid.Sid, reason = "Case 4712" })).Status);
        Assert.Equal(HttpStatusCode.Created, (await api.PostAsync("/api/v1/retention/holds", new { from = "2000-01-01T00:00:00Z", to = CallDataManifestIso(stop.AddHours(-2)), reason = "Audit 2026" })).Status);

        server.Clock.SetUtcNow(stop.AddYears(3));
        Assert.Equal(0, (await RunAsync(api)).Json.GetProperty("calls").GetInt32());
        Assert.Equal((1L, 0L, 1L), await StateAsync(server, byId.Id));
        Assert.Equal((1L, 0L, 1L), await StateAsync(server, bySid.Id));
        Assert.Equal((1L, 0L, 1L), await StateAsync(server, byRange.Id));

        var holdId = hold.Json.GetProperty("id").GetInt64();
        var released = await api.PostAsync($"/api/v1/retention/holds/{holdId}/release", new { reason = "Case closed" });
        Assert.Equal(HttpStatusCode.OK, released.Status);
        Assert.False(released.Json.GetProperty("active").GetBoolean());
        Assert.Equal(AdminName, released.Json.GetProperty("releasedBy").GetString());
        Assert.Equal("Case closed", released.Json.GetProperty("releaseReason").GetString());
        Assert.Equal(HttpStatusCode.Conflict, (await api.PostAsync($"/api/v1/retention/holds/{holdId}/release", new { })).Status);
        var active = (await api.GetAsync("/api/v1/retention/holds")).Json.GetProperty("items");
        Assert.DoesNotContain(active.EnumerateArray(), h => h.GetProperty("id").GetInt64() == holdId);
        var all = (await api.GetAsync("/api/v1/retention/holds?all=true")).Json.GetProperty("items");
        Assert.Contains(all.EnumerateArray(), h => h.GetProperty("id").GetInt64() == holdId && h.GetProperty("releasedAt").ValueKind == System.Text.Json.JsonValueKind.String);

        var run = (await RunAsync(api)).Json;
        Assert.Equal([byId.Id], run.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetInt64()));
        Assert.Equal((0L, 1L, 0L), await StateAsync(server, byId.Id));
        Assert.Equal((1L, 0L, 1L), await StateAsync(server, bySid.Id));
        await server.FlushAuditAsync();
        var audit = (await api.GetAsync($"/api/v1/audit?call={byId.Id}")).Json.GetProperty("items").EnumerateArray().Select(r => r.GetProperty("action").GetString()).ToList();
        Assert.Contains($"admin.retention.hold.release:{holdId}", audit);
        Assert.Contains($"admin.retention.hold.place:{holdId}", audit);
        Assert.Contains("retention.purge", audit);
    }

    private static string CallDataManifestIso(DateTimeOffset t) => CallMedia.Delivery.CallDataManifest.Iso(t);

    [Fact]
    public async Task DryRun_ReportsWhatWouldGoAndTheBytes_ChangesNothing()
    {
        await using var server = await StartAsync();
        using var api = await AdminAsync(server);
        var number = UniqueNumber();
        var stop = server.Clock.GetUtcNow().AddDays(-100);
        var call = await SeedAsync(server.Services.GetRequiredService<Database>(), server.DataDir, stop, number, 1, 32);
        await api.PostAsync("/api/v1/retention/policies", new { name = "p", numbers = new[] { number }, keep = "90d" });
        await server.FlushAuditAsync();
        var before = await SnapshotAsync(server);

        var dry = (await RunAsync(api, dryRun: true)).Json;
        Assert.True(dry.GetProperty("dryRun").GetBoolean());
        Assert.Equal(1, dry.GetProperty("calls").GetInt32());
        Assert.Equal(2, dry.GetProperty("files").GetInt32());
        Assert.Equal(4097 + 4128, dry.GetProperty("bytes").GetInt64());
        var (exit, output, error) = await server.CliAsync("", "retention", "run", "--dry-run");
        Assert.True(exit == 0, error);
        Assert.Contains($"would purge\t{call.Id}\t{call.Sid}\taudio,recd\t2 files\t8225 bytes", output, StringComparison.Ordinal);
        Assert.Contains("nothing changed", output, StringComparison.Ordinal);

        await server.FlushAuditAsync();
        Assert.Equal(before, await SnapshotAsync(server));
        Assert.All(call.Files, f => Assert.True(File.Exists(f)));
    }

    private static async Task<string> SnapshotAsync(TestServer server)
    {
        await using var connection = await server.Services.GetRequiredService<Database>().OpenAsync();
        var rows = new List<string>();
        foreach (var sql in (string[])[
            "SELECT COUNT(*) FROM media_files", "SELECT COUNT(*) FROM audit WHERE action LIKE '%retention%'", "SELECT COUNT(*) FROM purge_queue",
            "SELECT COALESCE(SUM(types + purged_types), 0) FROM couples", "SELECT owner || ':' || lease_until FROM leases", "SELECT COUNT(*) FROM couples WHERE purged_at IS NOT NULL"])
        {
            rows.Add(Convert.ToString(await connection.ExecuteScalarAsync(sql), System.Globalization.CultureInfo.InvariantCulture) ?? "null");
        }

        return string.Join('|', rows);
    }

    [Fact]
    public async Task PurgedCall_ZipNamesItPurgedInCalldata_SingleCallTokenAnswers410Purged()
    {
        await using var server = await StartAsync();
        using var api = await AdminAsync(server);
        var number = UniqueNumber();
        var stop = server.Clock.GetUtcNow().AddDays(-10);
        var db = server.Services.GetRequiredService<Database>();
        var gone = await SeedAsync(db, server.DataDir, stop, number, 1);
        var kept = await SeedAsync(db, server.DataDir, stop, UniqueNumber(), 1);
        await api.PostAsync("/api/v1/retention/policies", new { name = "p", numbers = new[] { number }, keep = "7d" });
        Assert.Equal(1, (await RunAsync(api)).Json.GetProperty("calls").GetInt32());

        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var manifest = await CallRec.ManifestAsync(client, session, $"id_call[]={gone.Id},{kept.Id}&action=download");
        var rows = manifest.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).ToList();
        var goneRow = rows.Single(r => r[0] == gone.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(gone.Sid, goneRow[1]);
        Assert.Equal("purged", goneRow[12]);
        Assert.Equal("", goneRow[9]);
        Assert.Equal("ok", rows.Single(r => r[0] == kept.Id.ToString(System.Globalization.CultureInfo.InvariantCulture))[12]);

        foreach (var query in (string[])[$"id_call[]={gone.Id}", $"id_call[]={gone.Id}&action=download"])
        {
            var token = await CallRec.RequireTokenAsync(client, session, query);
            using var response = await client.SendAsync(CallRec.Send(session, token));
            var body = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.Gone, response.StatusCode);
            Assert.Contains("<error number=\"17\">", body, StringComparison.Ordinal);
            Assert.Contains("purged", body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task RetentionApi_NonAdminIs403_NoSessionIs401_BadInputIs400AndChangesNothing()
    {
        await using var server = await StartAsync();
        using var admin = await AdminAsync(server);
        using var demo = await ApiClient.CreateAsync(server);
        await demo.SignInAsync();
        using var anonymous = await ApiClient.CreateAsync(server);
        var policy = (await admin.PostAsync("/api/v1/retention/policies", new { name = "base", keep = "3y", numbers = new[] { UniqueNumber() } })).Json.GetProperty("id").GetInt64();
        var hold = (await admin.PostAsync("/api/v1/retention/holds", new { number = "3001", reason = "r" })).Json.GetProperty("id").GetInt64();
        await server.FlushAuditAsync();
        var before = await SnapshotAsync(server);

        foreach (var (client, status) in new[] { (demo, HttpStatusCode.Forbidden), (anonymous, HttpStatusCode.Unauthorized) })
        {
            Assert.Equal(status, (await client.GetAsync("/api/v1/retention/policies")).Status);
            Assert.Equal(status, (await client.PostAsync("/api/v1/retention/policies", new { name = "x", keep = "1d" })).Status);
            Assert.Equal(status, (await client.SendAsync(HttpMethod.Delete, $"/api/v1/retention/policies/{policy}")).Status);
            Assert.Equal(status, (await client.GetAsync("/api/v1/retention/holds")).Status);
            Assert.Equal(status, (await client.PostAsync("/api/v1/retention/holds", new { callId = 1001, reason = "x" })).Status);
            Assert.Equal(status, (await client.PostAsync($"/api/v1/retention/holds/{hold}/release", new { })).Status);
            Assert.Equal(status, (await client.PostAsync("/api/v1/retention/run", new { dryRun = false })).Status);
        }

        object[] badPolicies =
        [
            new { name = "a", keep = "3x" }, new { name = "a", keep = "0d" }, new { name = "a", keep = "101y" }, new { name = "a", media = "fax", keep = "1y" },
            new { name = "", keep = "1y" }, new { name = "base", keep = "1y" }, new { name = "a", keep = "1y", extra = 1 }, new { name = "a" },
        ];
        foreach (var bad in badPolicies)
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsync("/api/v1/retention/policies", bad)).Status);
        }

        object[] badHolds =
        [
            new { reason = "nothing named" }, new { callId = 1001, number = "3001", reason = "two" }, new { callId = 1001, reason = "  " },
            new { callId = 999_999_999, reason = "no such call" }, new { from = "yesterday", reason = "r" }, new { from = "2026-02-01", to = "2026-01-01", reason = "r" },
            new { callId = 1001, reason = "court order 12\u001fmore" },
        ];
        foreach (var bad in badHolds)
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsync("/api/v1/retention/holds", bad)).Status);
        }

        // A purge is never what an empty body means.
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsync("/api/v1/retention/run", new { })).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.SendAsync(HttpMethod.Delete, "/api/v1/retention/policies/999999")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync("/api/v1/retention/holds/999999/release", new { })).Status);
        await server.FlushAuditAsync();
        Assert.Equal(before, await SnapshotAsync(server));
        Assert.Single((await admin.GetAsync("/api/v1/retention/policies")).Json.GetProperty("items").EnumerateArray());

        Assert.Equal(HttpStatusCode.NoContent, (await admin.SendAsync(HttpMethod.Delete, $"/api/v1/retention/policies/{policy}")).Status);
        Assert.Empty((await admin.GetAsync("/api/v1/retention/policies")).Json.GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task Cli_PolicyAndHoldCommands_ManageTheSameDataAndRefuseBadInput()
    {
        await using var server = await StartAsync();
        var number = UniqueNumber();
        var (exit, output, error) = await server.CliAsync("", "retention", "policy", "add", "video-1y", "--keep", "1y", "--media", "video", "--numbers", number);
        Assert.True(exit == 0, error);
        Assert.Contains("video kept 1y", output, StringComparison.Ordinal);
        Assert.Equal(2, (await server.CliAsync("", "retention", "policy", "add", "bad", "--keep", "forever")).Exit);
        Assert.Equal(2, (await server.CliAsync("", "retention", "hold", "add", "--reason", "r", "--call", "1001", "--number", "3001")).Exit);
        var list = await server.CliAsync("", "retention", "policy", "list");
        Assert.Equal($"video-1y\tvideo\t{number}\t1y\n", list.Out.Replace("\r", "", StringComparison.Ordinal));

        var placed = await server.CliAsync("", "retention", "hold", "add", "--reason", "Case 9", "--call", "1001");
        Assert.True(placed.Exit == 0, placed.Error);
        var id = placed.Out.Split(':')[0].Split(' ')[1];
        Assert.Contains("call 1001\tactive", (await server.CliAsync("", "retention", "hold", "list")).Out, StringComparison.Ordinal);
        Assert.Contains("released", (await server.CliAsync("", "retention", "hold", "release", id, "--reason", "done")).Out, StringComparison.Ordinal);
        Assert.Equal("", (await server.CliAsync("", "retention", "hold", "list")).Out);
        Assert.Contains("released", (await server.CliAsync("", "retention", "hold", "list", "--all")).Out, StringComparison.Ordinal);
        Assert.Equal(0, (await server.CliAsync("", "retention", "policy", "delete", "video-1y")).Exit);
        Assert.Equal(1, (await server.CliAsync("", "retention", "policy", "delete", "video-1y")).Exit);
    }

    [Fact]
    public async Task Schedule_InsideServe_PurgesWhenItsIntervalPasses()
    {
        await using var server = await TestServer.StartAsync("Retention:Interval=01:00:00");
        using var api = await AdminAsync(server);
        var number = UniqueNumber();
        var stop = server.Clock.GetUtcNow().AddMinutes(-1);
        var call = await SeedAsync(server.Services.GetRequiredService<Database>(), server.DataDir, stop, number, 1);
        await api.PostAsync("/api/v1/retention/policies", new { name = "p", numbers = new[] { number }, keep = "1d" });

        server.Clock.Advance(TimeSpan.FromMinutes(30));
        await Task.Delay(300);
        Assert.Equal(1L, (await StateAsync(server, call.Id)).Files);
        server.Clock.Advance(TimeSpan.FromDays(2));
        var deadline = Stopwatch.StartNew();
        // The rows go in one transaction, the files right after it (from the purge queue): wait for both.
        while (((await StateAsync(server, call.Id)).Files > 0 || File.Exists(call.Files[0])) && deadline.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(50);
            server.Clock.Advance(TimeSpan.FromHours(1));
        }

        Assert.Equal((0L, 1L, 0L), await StateAsync(server, call.Id));
        Assert.False(File.Exists(call.Files[0]));
    }

    [Fact]
    public async Task Run_KilledMidPurge_LeavesNoDanglingRowNorOrphan_RerunFinishes()
    {
        await using var server = await StartAsync();
        var db = server.Services.GetRequiredService<Database>();
        var number = UniqueNumber();
        var stop = DateTimeOffset.UtcNow.AddDays(-400);
        var calls = new List<(long Id, string Sid, List<string> Files)>();
        for (var i = 0; i < 40; i++)
        {
            calls.Add(await SeedAsync(db, server.DataDir, stop, number, 1));
        }

        Assert.Equal(0, (await server.CliAsync("", "retention", "policy", "add", "p", "--keep", "1y", "--numbers", number)).Exit);
        var dll = typeof(CallMedia.Cli.CliApp).Assembly.Location;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])[dll, "retention", "run", .. server.DatabaseArgs, "--Retention:BatchSize=10", "--Retention:DeletePause=00:00:00.300", "--Retention:Lease=00:00:01"])
        {
            start.ArgumentList.Add(a);
        }

        string firstBatch;
        using (var process = Process.Start(start)!)
        {
            // The run prints a batch once its rows are out and its files queued; it then deletes them, 300 ms each.
            firstBatch = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(1)) ?? "";
            await Task.Delay(250);
            Assert.False(process.HasExited, "the purge finished before it could be interrupted");
            process.Kill(entireProcessTree: true); // SIGKILL: no finally block runs, the lease stays taken.
            await process.WaitForExitAsync();
        }

        Assert.StartsWith("purged\t", firstBatch, StringComparison.Ordinal);
        var queued = await CountAsync(db, "SELECT COUNT(*) FROM purge_queue");
        Assert.InRange(queued, 1, 29);
        var ids = calls.Select(c => c.Id).ToArray();
        await AssertConsistentAsync(db, server.DataDir, calls);
        var half = await CountAsync(db, $"SELECT COUNT(*) FROM couples WHERE purged_at IS NOT NULL AND {db.In("id", "ids")}", new { ids });
        Assert.InRange(half, 1, 39);

        await Task.Delay(1200); // the killed run's lease runs out
        var (exit, output, error) = await server.CliAsync("", "retention", "run");
        Assert.True(exit == 0, error);
        Assert.Contains($"purged {40 - half} calls", output, StringComparison.Ordinal);
        Assert.Equal(0, await CountAsync(db, "SELECT COUNT(*) FROM purge_queue"));
        Assert.Equal(40, await CountAsync(db, $"SELECT COUNT(*) FROM couples WHERE purged_types = 1 AND types = 0 AND {db.In("id", "ids")}", new { ids }));
        Assert.Equal(0, await CountAsync(db, $"SELECT COUNT(*) FROM media_files WHERE {db.In("couple_id", "ids")}", new { ids }));
        Assert.All(calls.SelectMany(c => c.Files), f => Assert.False(File.Exists(f), f));
        foreach (var c in calls)
        {
            Assert.Equal(1, await PurgeRecordsAsync(server, c.Id));
        }
    }

    [SkippableFact]
    public async Task Run_WhileAHoldIsBeingPlaced_WaitsForItAndKeepsTheHeldCall()
    {
        Skip.IfNot(TestDatabase.IsPostgres, "read-committed transactions interleave on PostgreSQL; SQLite runs one writer at a time");
        await using var server = await StartAsync();
        var db = server.Services.GetRequiredService<Database>();
        var number = UniqueNumber();
        var stop = DateTimeOffset.UtcNow.AddDays(-400);
        var held = await SeedAsync(db, server.DataDir, stop, number, 1);
        var other = await SeedAsync(db, server.DataDir, stop, number, 1);
        Assert.Equal(0, (await server.CliAsync("", "retention", "policy", "add", "p", "--keep", "1y", "--numbers", number)).Exit);

        // A hold being placed: its row written, its transaction not yet committed, as PlaceHoldAsync does it.
        await using var connection = await db.OpenAsync();
        await using var tx = await connection.BeginTransactionAsync();
        await RetentionStore.LockHoldsAsync(db, connection, tx);
        await connection.ExecuteAsync(
            "INSERT INTO legal_holds (couple_id, reason, placed_by, placed_at) VALUES (@Id, 'Case 9', 'test', @at)",
            new { held.Id, at = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() },
            tx);

        var run = server.CliAsync("", "retention", "run");
        await Task.Delay(1000);
        Assert.False(run.IsCompleted, "the purge did not wait for the hold being placed");
        await tx.CommitAsync();
        var (exit, output, error) = await run.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.True(exit == 0, error);
        Assert.Contains("purged 1 calls", output, StringComparison.Ordinal);
        Assert.Equal((1L, 0L, 1L), await StateAsync(server, held.Id));
        Assert.True(File.Exists(held.Files[0]));
        Assert.Equal((0L, 1L, 0L), await StateAsync(server, other.Id));
    }

    [Fact]
    public async Task Import_ManifestAgainAfterThePurge_DoesNotBringTheRecordingBack()
    {
        await using var server = await StartAsync();
        using var api = await AdminAsync(server);
        var number = UniqueNumber();
        var folder = Directory.CreateTempSubdirectory("callmedia-retention-import-").FullName;
        var sid = "imp-" + Guid.NewGuid().ToString("N");
        await File.WriteAllBytesAsync(Path.Combine(folder, "a.mp3"), new byte[3000]);
        var manifest = Path.Combine(folder, "m.csv");
        await File.WriteAllTextAsync(manifest, $"sid,start,stop,calling_number,called_number,type,path\n{sid},2026-11-01T10:00:00Z,2026-11-01T10:05:00Z,{number},2001,audio,a.mp3\n");
        Assert.Equal(0, (await server.CliAsync("", "import", manifest)).Exit);
        var id = (await server.Services.GetRequiredService<CallMedia.Calls.CallStore>().FindIdBySidAsync(sid))!.Value;
        await api.PostAsync("/api/v1/retention/policies", new { name = "p", numbers = new[] { number }, keep = "7d" });
        Assert.Equal(1, (await RunAsync(api)).Json.GetProperty("calls").GetInt32());

        var (exit, output, error) = await server.CliAsync("", "import", manifest);
        Assert.True(exit == 0, error);
        Assert.Contains("added 0 couples", output, StringComparison.Ordinal);
        Assert.Equal((0L, 1L, 0L), await StateAsync(server, id));
        Directory.Delete(folder, recursive: true);
    }

    /// <summary>Every file row names a file on disk, and every file on disk is named by a row or by the queue.</summary>
    private static async Task AssertConsistentAsync(Database db, string dataDir, List<(long Id, string Sid, List<string> Files)> calls)
    {
        await using var connection = await db.OpenAsync();
        var ids = calls.Select(c => c.Id).ToArray();
        var rows = (await connection.QueryAsync<string>($"SELECT path FROM media_files WHERE {db.In("couple_id", "ids")}", new { ids })).ToHashSet();
        var queue = (await connection.QueryAsync<string>("SELECT path FROM purge_queue")).ToHashSet();
        foreach (var path in rows)
        {
            Assert.True(File.Exists(Path.Combine(dataDir, "media", path)), $"row names a missing file: {path}");
        }

        foreach (var file in calls.SelectMany(c => c.Files).Where(File.Exists))
        {
            var relative = Path.GetRelativePath(Path.Combine(dataDir, "media"), file).Replace('\\', '/');
            Assert.True(rows.Contains(relative) || queue.Contains(relative), $"orphan file: {relative}");
        }
    }

    private static async Task<long> CountAsync(Database db, string sql, object? args = null)
    {
        await using var connection = await db.OpenAsync();
        return await connection.ExecuteScalarAsync<long>(sql, args);
    }
}
