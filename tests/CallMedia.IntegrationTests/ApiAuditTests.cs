using System.Net;
using CallMedia.Audit;
using CallMedia.IntegrationTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace CallMedia.IntegrationTests;

/// <summary>Reasons on tokens, a call's access list (right <c>audit</c>) and the admin audit endpoints.</summary>
public sealed class ApiAuditTests
{
    [Fact]
    public async Task Tokens_ReasonRequired_MissingIs400AndTheReasonIsAuditedAndChained()
    {
        await using var server = await TestServer.StartAsync("Web:RequireReason=true");
        await server.AddUserAsync("reason-admin", "admin-password", ["admin"]);
        using var api = await ApiClient.CreateAsync(server);
        var me = await api.SignInAsync("reason-admin", "admin-password");
        Assert.True(me.GetProperty("requireReason").GetBoolean());

        var missing = await api.PostAsync("/api/v1/tokens", new { ids = ApiClient.Ids(1001) });
        var blank = await api.PostAsync("/api/v1/tokens", new { ids = ApiClient.Ids(1001), reason = "   " });
        await server.FlushAuditAsync();
        var before = (await api.GetAsync("/api/v1/audit?call=1001")).Json.GetProperty("items").GetArrayLength();
        var issued = await api.PostAsync("/api/v1/tokens", new { ids = ApiClient.Ids(1001), reason = "Complaint 4711, customer asked" });
        LogSink.Shared.AddSecret(issued.Json.GetProperty("token").GetString()!);
        await server.FlushAuditAsync();

        Assert.Equal(HttpStatusCode.BadRequest, missing.Status);
        Assert.Contains("reason", missing.Detail, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, blank.Status);
        Assert.Equal(0, before);
        Assert.Equal(HttpStatusCode.Created, issued.Status);
        var record = (await api.GetAsync("/api/v1/audit?call=1001&action=token.stream")).Json.GetProperty("items").EnumerateArray().Single();
        Assert.Equal("Complaint 4711, customer asked", record.GetProperty("reason").GetString());
        Assert.Equal("issued", record.GetProperty("outcome").GetString());
        Assert.Equal([1001], record.GetProperty("coupleIds").EnumerateArray().Select(i => i.GetInt64()));

        var verify = (await api.GetAsync("/api/v1/audit/verify")).Json;
        Assert.True(verify.GetProperty("ok").GetBoolean());
        Assert.Matches("^[0-9]+:[0-9A-F]{64}$", verify.GetProperty("head").GetString()!);
        var (exit, output, _) = await server.CliAsync("", "audit", "export");
        Assert.Equal(0, exit);
        Assert.Contains(",\"Complaint 4711, customer asked\"", output, StringComparison.Ordinal);
        Assert.Equal(0, (await server.CliAsync("", "audit", "verify")).Exit);

        // The reason is covered by the hash: editing it breaks the chain.
        var db = server.Services.GetRequiredService<CallMedia.Data.Database>();
        await using (var connection = await db.OpenAsync())
        {
            await Dapper.SqlMapper.ExecuteAsync(connection, "UPDATE audit SET reason = 'nothing to see' WHERE reason IS NOT NULL");
        }

        var broken = (await api.GetAsync("/api/v1/audit/verify")).Json;
        Assert.False(broken.GetProperty("ok").GetBoolean());
        Assert.Equal(record.GetProperty("seq").GetInt64(), broken.GetProperty("firstBad").GetProperty("seq").GetInt64());
    }

    [Fact]
    public void ChainHash_WithoutReason_IsTheHashOfRecordsWrittenBeforeReasonsExisted()
    {
        var fields = string.Join('\u001f', AuditLog.Genesis, "1700000000000", "demo", "127.0.0.1", "redeem", "1001", "512", "200-complete");
        var legacy = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(fields)));

        Assert.Equal(legacy, AuditLog.ChainHash(AuditLog.Genesis, 1700000000000, "demo", "127.0.0.1", "redeem", "1001", 512, "200-complete"));
        Assert.NotEqual(legacy, AuditLog.ChainHash(AuditLog.Genesis, 1700000000000, "demo", "127.0.0.1", "redeem", "1001", 512, "200-complete", ""));
    }

    [Fact]
    public async Task Access_AuditorSeesWhoFetchedTheCall_OthersAreRefused()
    {
        await using var server = await TestServer.StartAsync();
        await server.AddUserAsync("api-auditor", "auditor-password", ["auditor"]);
        await server.AddUserAsync("api-plain", "plain-password", ["downloader"]);
        using var admin = await ApiClient.CreateAsync(server);
        await admin.SignInAsync();
        var token = (await admin.PostAsync("/api/v1/tokens", new { ids = ApiClient.Ids(1002), action = "download", reason = "QA sample" })).Json.GetProperty("token").GetString()!;
        LogSink.Shared.AddSecret(token);
        using (var send = await admin.Http.SendAsync(CallRec.Send(admin.Session!, token)))
        {
            Assert.Equal(HttpStatusCode.OK, send.StatusCode);
            await send.Content.ReadAsByteArrayAsync();
        }

        await server.FlushAuditAsync();
        using var auditor = await ApiClient.CreateAsync(server);
        var me = await auditor.SignInAsync("api-auditor", "auditor-password");
        Assert.Contains("audit", me.GetProperty("rights").EnumerateArray().Select(r => r.GetString()));
        using var plain = await ApiClient.CreateAsync(server);
        await plain.SignInAsync("api-plain", "plain-password");

        var access = (await auditor.GetAsync("/api/v1/calls/1002/access")).Json.GetProperty("items").EnumerateArray().ToList();

        Assert.Contains(access, a => a.GetProperty("action").GetString() == "token.download" && a.GetProperty("user").GetString() == "demo" && a.GetProperty("reason").GetString() == "QA sample");
        Assert.Contains(access, a => a.GetProperty("action").GetString() == "redeem" && a.GetProperty("outcome").GetString() == "200-complete" && a.GetProperty("bytes").GetInt64() > 0);
        Assert.Equal(HttpStatusCode.Forbidden, (await plain.GetAsync("/api/v1/calls/1002/access")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await auditor.GetAsync("/api/v1/audit")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await auditor.GetAsync("/api/v1/audit/verify")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await auditor.GetAsync("/api/v1/audit.csv")).Status);
    }

    [Fact]
    public async Task Audit_AdminPagesNewestFirst_FiltersAndCsv()
    {
        await using var server = await TestServer.StartAsync();
        await server.AddUserAsync("api-admin", "admin-password", ["admin"]);
        using var api = await ApiClient.CreateAsync(server);
        await api.SignInAsync("api-admin", "admin-password");
        for (var i = 0; i < 5; i++)
        {
            LogSink.Shared.AddSecret((await api.PostAsync("/api/v1/tokens", new { ids = ApiClient.Ids(1003), reason = "=HYPERLINK(\"x\")" })).Json.GetProperty("token").GetString()!);
        }

        await server.FlushAuditAsync();
        var seqs = new List<long>();
        string? cursor = null;
        do
        {
            var page = (await api.GetAsync("/api/v1/audit?user=api-admin&limit=2" + (cursor is null ? "" : "&cursor=" + cursor))).Json;
            seqs.AddRange(page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("seq").GetInt64()));
            Assert.All(page.GetProperty("items").EnumerateArray(), i => Assert.Equal("api-admin", i.GetProperty("user").GetString()));
            cursor = page.GetProperty("next").GetString();
        }
        while (cursor is not null);

        Assert.Equal(6, seqs.Count); // the sign-in and five token issues
        Assert.Equal(seqs.OrderDescending(), seqs);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.GetAsync("/api/v1/audit?cursor=bogus")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.GetAsync("/api/v1/audit?call=x")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.GetAsync("/api/v1/audit?from=tomorrow")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.GetAsync("/api/v1/audit?from=2026-11-25&to=2026-11-20")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.GetAsync("/api/v1/audit.csv?from=2026-11-25&to=2026-11-20")).Status);

        var csv = await api.GetAsync("/api/v1/audit.csv?action=token.stream");
        Assert.Equal(HttpStatusCode.OK, csv.Status);
        Assert.Equal("attachment", csv.Disposition?.DispositionType);
        Assert.Equal("audit.csv", csv.Disposition?.FileName);
        var lines = csv.Body.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(AuditChain.CsvHeader, lines[0]);
        Assert.Equal(6, lines.Length);
        Assert.All(lines.Skip(1), l => Assert.EndsWith(",\"'=HYPERLINK(\"\"x\"\")\"", l, StringComparison.Ordinal));
    }
}
