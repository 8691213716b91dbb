using System.Net.Http.Headers;
using CallMedia.Audit;
using CallMedia.Data;
using CallMedia.IntegrationTests.Infrastructure;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace CallMedia.IntegrationTests;

/// <summary>The audit trail an auditor relies on: complete, with bytes sent, and tamper-evident.</summary>
public sealed class AuditTests
{
    [Fact]
    public async Task Audit_RecordsWhoFetchedWhatWithBytesSentAndCompletion()
    {
        await using var server = await TestServer.StartAsync();
        await server.AddUserAsync("auditee", "auditee-password", ["downloader"]);
        using var client = server.CreateClient();
        await client.GetStringAsync("/callrec/loginservlet?loginname=auditee&password=nope-nope");
        var session = await CallRec.LoginAsync(client, "auditee", "auditee-password");
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1003&action=download");
        using var full = await client.SendAsync(CallRec.Send(session, token));
        var size = (await full.Content.ReadAsByteArrayAsync()).Length;
        using (var range = CallRec.Send(session, token))
        {
            range.Headers.Range = new RangeHeaderValue(100, 1099);
            (await client.SendAsync(range)).Dispose();
        }

        (await client.SendAsync(CallRec.Send(session, token))).Dispose();
        await server.CliAsync("", "user", "grant", "auditee", "supervisor");
        await server.CliAsync("", "user", "revoke", "auditee", "supervisor", "admin"); // held one of the two
        await server.CliAsync("", "user", "scope", "auditee", "+420111, 2001");
        await server.CliAsync("other-password-1234\n", "user", "add", "auditor2", "--role", "downloader", "--role", "supervisor");
        await server.FlushAuditAsync();

        var rows = await RowsAsync(server);
        Assert.Contains(rows, r => r.UserName == "auditee" && r.Action == "login" && r.Outcome == "denied");
        Assert.Contains(rows, r => r.UserName == "auditee" && r.Action == "login" && r.Outcome == "ok");
        Assert.Contains(rows, r => r.UserName == "auditee" && r.Action == "token.download" && r.CoupleIds == "1003" && r.Outcome == "issued");
        Assert.Contains(rows, r => r.Action == "redeem" && r.CoupleIds == "1003" && r.Bytes == size && r.Outcome == "200-complete");
        Assert.Contains(rows, r => r.Action == "range" && r.CoupleIds == "1003" && r.Bytes == 1000 && r.Outcome == "206-complete");
        Assert.Contains(rows, r => r.UserName == "auditee" && r.Action == "send" && r.Outcome == "bad-token");
        // Each admin change says what it gave or took.
        Assert.Contains(rows, r => r.Action == "admin.user.grant:auditee:supervisor" && r.Client == "cli");
        Assert.Contains(rows, r => r.Action == "admin.user.revoke:auditee:supervisor" && r.Client == "cli");
        Assert.Contains(rows, r => r.Action == "admin.user.scope:auditee:+420111,2001" && r.Client == "cli");
        Assert.Contains(rows, r => r.Action == "admin.user.add:auditor2:downloader+supervisor:all" && r.Client == "cli");
        Assert.All(rows.Where(r => r.Client != "cli"), r => Assert.Equal("127.0.0.1", r.Client));
    }

    [Fact]
    public async Task Audit_AbortedDownload_IsRecordedIncomplete()
    {
        await using var server = await TestServer.StartAsync();
        var big = Path.Combine(Path.GetTempPath(), $"big-{Guid.NewGuid():N}.mp4");
        await File.WriteAllBytesAsync(big, new byte[64 << 20]);
        try
        {
            var id = (await server.SeedAsync([[TestData.FileOf(CallMedia.Calls.MediaType.Audio, big)]]))[0];
            using var client = server.CreateClient();
            var session = await CallRec.LoginAsync(client);
            var token = await CallRec.RequireTokenAsync(client, session, $"id_call[]={id}&action=download");
            using (var response = await client.SendAsync(CallRec.Send(session, token), HttpCompletionOption.ResponseHeadersRead))
            {
                await using var body = await response.Content.ReadAsStreamAsync();
                await body.ReadExactlyAsync(new byte[1 << 16]);
            }

            client.Dispose();
            // The server notices the abort when its next write fails; wait for that record.
            var waited = System.Diagnostics.Stopwatch.StartNew();
            AuditChain.AuditRow? row = null;
            while (row is null or { Outcome: AuditLog.Started } && waited.Elapsed < TimeSpan.FromSeconds(30))
            {
                await server.FlushAuditAsync();
                row = (await RowsAsync(server)).FirstOrDefault(r => r.Action == "redeem" && r.CoupleIds == id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                await Task.Delay(50);
            }

            Assert.NotNull(row);
            Assert.Equal("200-incomplete", row!.Outcome);
            Assert.InRange(row.Bytes!.Value, 0, (64 << 20) - 1);
        }
        finally
        {
            File.Delete(big);
        }
    }

    [Fact]
    public async Task Audit_ClientClosesTheMomentItHasEveryByte_IsRecordedComplete()
    {
        // curl, wget and players close their connection as soon as they have Content-Length bytes, often before the
        // server has looked at its last flush; every byte was handed over, so each record must say complete.
        await using var server = await TestServer.StartAsync();
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        const int Downloads = 60;
        var sizes = new List<long>();
        for (var i = 0; i < Downloads; i++)
        {
            var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1003&action=download");
            // Half close politely (FIN), half reset the connection (RST), both only after the last byte arrived.
            using var socket = new System.Net.Sockets.TcpClient { LingerState = new System.Net.Sockets.LingerOption(i % 2 == 1, 0) };
            await socket.ConnectAsync("127.0.0.1", server.BaseAddress.Port);
            var stream = socket.GetStream();
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"GET /callrec/sendcallfile.mp3;jsessionid={session}?token={token} HTTP/1.1\r\nHost: localhost\r\n\r\n"));
            sizes.Add(await ReadOneResponseAsync(stream));
            socket.Close();
        }

        Assert.All(sizes, s => Assert.Equal(sizes[0], s));
        List<AuditChain.AuditRow> records;
        var waited = System.Diagnostics.Stopwatch.StartNew();
        do
        {
            await server.FlushAuditAsync();
            records = [.. (await RowsAsync(server)).Where(r => r.Action == "redeem" && r.CoupleIds == "1003")];
        }
        while (records.Count(r => r.Outcome != AuditLog.Started) < Downloads && waited.Elapsed < TimeSpan.FromSeconds(30));

        Assert.Equal(Downloads, records.Count);
        Assert.All(records, r => Assert.Equal(("200-complete", sizes[0]), (r.Outcome, r.Bytes!.Value)));
    }

    /// <summary>Reads one HTTP/1.1 response of known length from <paramref name="stream"/>: its 200 head, then exactly
    /// Content-Length bytes of body, whose count it returns.</summary>
    private static async Task<long> ReadOneResponseAsync(Stream stream)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (head.Count < 4 || head[^4] != '\r' || head[^3] != '\n' || head[^2] != '\r' || head[^1] != '\n')
        {
            await stream.ReadExactlyAsync(one);
            head.Add(one[0]);
        }

        var text = System.Text.Encoding.ASCII.GetString([.. head]);
        Assert.StartsWith("HTTP/1.1 200", text, StringComparison.Ordinal);
        var length = long.Parse(
            System.Text.RegularExpressions.Regex.Match(text, @"(?im)^content-length:\s*(\d+)\r$").Groups[1].Value,
            System.Globalization.CultureInfo.InvariantCulture);
        await stream.ReadExactlyAsync(new byte[length]);
        return length;
    }

    [Fact]
    public async Task AuditVerify_FindsTheFirstEditedOrRemovedRecord_AndATruncatedTail()
    {
        await using var server = await TestServer.StartAsync();
        using var client = server.CreateClient();
        for (var i = 0; i < 5; i++)
        {
            var session = await CallRec.LoginAsync(client);
            await CallRec.RequireTokenAsync(client, session, "id_call[]=1001");
        }

        await server.FlushAuditAsync();
        var (exit, output, _) = await server.CliAsync("", "audit", "verify");
        Assert.Equal(0, exit);
        Assert.Contains("chain intact", output, StringComparison.Ordinal);
        var head = output[(output.IndexOf("head ", StringComparison.Ordinal) + 5)..].Split(' ')[0];

        // The anchor in either case holds; a malformed one is a usage error (2), not a rewritten chain (1).
        Assert.Equal(0, (await server.CliAsync("", "audit", "verify", "--anchor", head.ToLowerInvariant())).Exit);
        var seqText = head.Split(':')[0];
        foreach (var malformed in new[] { seqText + ":abc", seqText + ":" + new string('G', 64), seqText + ":" + new string('A', 65), "abc", seqText })
        {
            var (badExit, _, badError) = await server.CliAsync("", "audit", "verify", "--anchor", malformed);
            Assert.True(badExit == 2, $"--anchor {malformed}: exit {badExit}, {badError}");
            Assert.Contains("--anchor is <seq>:<hash>", badError, StringComparison.Ordinal);
        }

        var db = server.Services.GetRequiredService<Database>();
        await using var connection = await db.OpenAsync();
        // In chain order, which is not seq order: the group commit chains the token records as it writes them, the
        // chainer the sign-ins' after them.
        var seqs = (await connection.QueryAsync<long>("SELECT seq FROM audit ORDER BY chain_seq")).ToList();
        Assert.NotEqual(seqs.Order(), seqs);

        // The tail removed: the chain is still valid, but the anchor noted before is gone.
        await connection.ExecuteAsync("DELETE FROM audit WHERE seq = @last", new { last = seqs[^1] });
        var (anchorExit, _, anchorError) = await server.CliAsync("", "audit", "verify", "--anchor", head);
        Assert.Equal(1, anchorExit);
        Assert.Contains($"broken at record {seqs[^1]}", anchorError, StringComparison.Ordinal);

        // A record edited: its own hash no longer matches.
        await connection.ExecuteAsync("UPDATE audit SET user_name = 'someone-else' WHERE seq = @s", new { s = seqs[4] });
        var (editExit, _, editError) = await server.CliAsync("", "audit", "verify");
        Assert.Equal(1, editExit);
        Assert.Contains($"broken at record {seqs[4]}: its fields do not match", editError, StringComparison.Ordinal);

        // A record removed before it: the next one no longer links.
        await connection.ExecuteAsync("DELETE FROM audit WHERE seq = @s", new { s = seqs[2] });
        var (deleteExit, _, deleteError) = await server.CliAsync("", "audit", "verify");
        Assert.Equal(1, deleteExit);
        Assert.Contains($"broken at record {seqs[3]}: does not link", deleteError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChainIndex_HoldsChainedRecordsOnly_StaysUnique_AndFindsTheChainHead()
    {
        await using var server = await TestServer.StartAsync();
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001");
        (await client.SendAsync(CallRec.Send(session, token))).Dispose();
        await server.FlushAuditAsync();

        var db = server.Services.GetRequiredService<Database>();
        await using var connection = await db.OpenAsync();
        var definition = db.Kind == DbKind.Sqlite
            ? await connection.ExecuteScalarAsync<string>("SELECT sql FROM sqlite_master WHERE name = 'ux_audit_chained'")
            : await connection.ExecuteScalarAsync<string>("SELECT indexdef FROM pg_indexes WHERE indexname = 'ux_audit_chained'");
        Assert.Contains("UNIQUE", definition, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("chain_seq IS NOT NULL", definition, StringComparison.OrdinalIgnoreCase);
        if (db.Kind == DbKind.Sqlite)
        {
            var rows = await connection.QueryAsync("EXPLAIN QUERY PLAN SELECT chain_seq, hash FROM audit WHERE chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1");
            var plan = string.Join(' ', rows.Select(r => (string)r.detail));
            Assert.Contains("ux_audit_chained", plan, StringComparison.Ordinal);
        }

        var chained = (await connection.QueryAsync<long>("SELECT chain_seq FROM audit WHERE chain_seq IS NOT NULL ORDER BY chain_seq")).ToList();
        Assert.True(chained.Count >= 3);
        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() =>
            connection.ExecuteAsync("UPDATE audit SET chain_seq = @taken WHERE chain_seq = @other", new { taken = chained[0], other = chained[1] }));
    }

    [Fact]
    public async Task AuditExport_WritesCsvOfTheRequestedPeriod()
    {
        await using var server = await TestServer.StartAsync();
        using var client = server.CreateClient();
        await CallRec.LoginAsync(client);
        server.Clock.Advance(TimeSpan.FromDays(2));
        await CallRec.LoginAsync(client);
        await server.FlushAuditAsync();

        var (exit, csv, _) = await server.CliAsync("", "audit", "export");
        Assert.Equal(0, exit);
        var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("seq,time_utc,user,client,action,couple_ids,bytes,outcome,prev_hash,hash,reason", lines[0]);
        Assert.Equal(2, lines.Count(l => l.Contains(",login,", StringComparison.Ordinal)));

        var from = server.Clock.GetUtcNow().AddDays(-1).ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        var (_, recent, _) = await server.CliAsync("", "audit", "export", "--from", from);
        Assert.Single(recent.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.Contains(",login,", StringComparison.Ordinal));
    }

    private static async Task<List<AuditChain.AuditRow>> RowsAsync(TestServer server)
    {
        await using var connection = await server.Services.GetRequiredService<Database>().OpenAsync();
        return (await connection.QueryAsync<AuditChain.AuditRow>(
            "SELECT seq, at, user_name, client, action, couple_ids, bytes, outcome, prev_hash, hash FROM audit ORDER BY seq")).ToList();
    }
}
