using System.Net;
using CallMedia.Data;
using CallMedia.IntegrationTests.Infrastructure;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace CallMedia.IntegrationTests;

/// <summary>A user scoped to one number never sees another number's call, in any field of any /api/v1 answer.</summary>
public sealed class ApiScopeTests
{
    private const string MineNumber = "+42070000111";
    private const string OtherNumber = "+42079999888";
    private const string OtherName = "Zebedee Hiddenfield";
    private const string OtherSid = "scope-other-sid-7f3a";

    [Fact]
    public async Task Scope_LimitedUser_NeverSeesAnotherNumbersCall()
    {
        await using var server = await TestServer.StartAsync();
        var (mine, other) = await SeedAsync(server);
        await server.AddUserAsync("scoped-auditor", "scoped-password", ["auditor", "supervisor"], [MineNumber]);
        using var admin = await ApiClient.CreateAsync(server);
        await admin.SignInAsync();

        // Activity on both calls, so the audit holds records naming the other call (one a zip of both).
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsync("/api/v1/tokens", new { ids = ApiClient.Ids(mine, other), action = "download" })).Status);
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsync("/api/v1/tokens", new { ids = ApiClient.Ids(other) })).Status);
        var otherJob = (await admin.PostAsync($"/api/v1/calls/{other}/prepare", null)).Json.GetProperty("id").GetInt64();
        var mineJob = (await admin.PostAsync($"/api/v1/calls/{mine}/prepare", null)).Json.GetProperty("id").GetInt64();
        await server.FlushAuditAsync();

        using var scoped = await ApiClient.CreateAsync(server);
        await scoped.SignInAsync("scoped-auditor", "scoped-password");
        var answers = new List<ApiResponse>
        {
            await scoped.GetAsync("/api/v1/me"),
            await scoped.GetAsync("/api/v1/calls?limit=500"),
            await scoped.GetAsync("/api/v1/calls?number=" + Uri.EscapeDataString(OtherNumber)),
            await scoped.GetAsync("/api/v1/calls?number=%2B4207*"),
            await scoped.GetAsync("/api/v1/calls?name=Zebedee"),
            await scoped.GetAsync("/api/v1/calls?sid=" + OtherSid),
            await scoped.GetAsync($"/api/v1/calls/{mine}"),
            await scoped.GetAsync($"/api/v1/calls/{mine}/access"),
            await scoped.GetAsync($"/api/v1/jobs/{mineJob}"),
        };
        var refused = new List<ApiResponse>
        {
            await scoped.GetAsync($"/api/v1/calls/{other}"),
            await scoped.GetAsync($"/api/v1/calls/{other}/access"),
            await scoped.GetAsync($"/api/v1/calls/{other}/peaks"),
            await scoped.GetAsync($"/api/v1/jobs/{otherJob}"),
            await scoped.PostAsync($"/api/v1/calls/{other}/prepare", null),
            await scoped.PostAsync("/api/v1/tokens", new { ids = ApiClient.Ids(other) }),
            await scoped.PostAsync("/api/v1/tokens", new { ids = ApiClient.Ids(mine, other), action = "download" }),
        };

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Status));
        var items = answers[1].Json.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetInt64()).ToList();
        Assert.Equal([mine], items);
        Assert.Empty(answers[2].Json.GetProperty("items").EnumerateArray());
        Assert.Equal([mine], answers[3].Json.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetInt64()));
        Assert.Empty(answers[4].Json.GetProperty("items").EnumerateArray());
        Assert.Empty(answers[5].Json.GetProperty("items").EnumerateArray());
        Assert.NotEmpty(answers[7].Json.GetProperty("items").EnumerateArray());
        Assert.All(refused, r => Assert.Equal(HttpStatusCode.NotFound, r.Status));
        var missing = (await scoped.GetAsync("/api/v1/calls/424242")).Json;
        Assert.Equal(missing.GetProperty("detail").GetString(), refused[0].Detail);
        Assert.Equal(missing.GetProperty("detail").GetString(), refused[3].Detail.Replace("job", "call", StringComparison.Ordinal));
        foreach (var body in answers.Concat(refused).Select(a => a.Body))
        {
            Assert.DoesNotContain(OtherNumber, body, StringComparison.Ordinal);
            Assert.DoesNotContain(OtherName, body, StringComparison.Ordinal);
            Assert.DoesNotContain(OtherSid, body, StringComparison.Ordinal);
            // The id may stand in the refused path itself, and by chance in a problem's random trace id (hex digits).
            var unrelated = System.Text.RegularExpressions.Regex.Replace(body.Replace($"/calls/{other}", "", StringComparison.Ordinal), "\"traceId\":\"[^\"]*\"", "");
            Assert.DoesNotContain(other.ToString(System.Globalization.CultureInfo.InvariantCulture), unrelated, StringComparison.Ordinal);
        }

        // The admin sees both: the test data is what the scoped answers left out.
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/v1/calls/{other}")).Status);
    }

    [Fact]
    public async Task UserWithoutRights_ScopeAll_SeesNoCall_AndGetsBackToTheListWhenGivenARole()
    {
        await using var server = await TestServer.StartAsync();
        var (mine, _) = await SeedAsync(server);
        await server.AddUserAsync("no-roles", "no-roles-password", []);
        using var bare = await ApiClient.CreateAsync(server);
        await bare.SignInAsync("no-roles", "no-roles-password");

        var me = await bare.GetAsync("/api/v1/me");
        Assert.Equal(HttpStatusCode.OK, me.Status);
        Assert.Empty(me.Json.GetProperty("rights").EnumerateArray());
        Assert.Empty((await bare.GetAsync("/api/v1/calls?limit=500")).Json.GetProperty("items").EnumerateArray());
        Assert.Empty((await bare.GetAsync("/api/v1/calls?sid=" + OtherSid)).Json.GetProperty("items").EnumerateArray());
        Assert.Equal(HttpStatusCode.NotFound, (await bare.GetAsync($"/api/v1/calls/{mine}")).Status);
        // Refused for want of a right, before any call is looked at: the same answer for a call that does not exist.
        var token = await bare.PostAsync("/api/v1/tokens", new { ids = ApiClient.Ids(mine) });
        Assert.Equal(HttpStatusCode.Forbidden, token.Status);
        Assert.Equal(token.Detail, (await bare.PostAsync("/api/v1/tokens", new { ids = ApiClient.Ids(424242) })).Detail);

        // A role given later counts at the next request of the same session.
        await server.Services.GetRequiredService<CallMedia.Auth.UserStore>().GrantAsync("no-roles", ["listener"]);
        Assert.Contains(mine, (await bare.GetAsync("/api/v1/calls?limit=500")).Json.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetInt64()));
        Assert.Equal(HttpStatusCode.OK, (await bare.GetAsync($"/api/v1/calls/{mine}")).Status);
    }

    private static async Task<(long Mine, long Other)> SeedAsync(TestServer server)
    {
        var db = server.Services.GetRequiredService<Database>();
        await using var connection = await db.OpenAsync();
        var start = new DateTimeOffset(2026, 11, 30, 9, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        async Task<long> AddAsync(string sid, string calling, string callingName, long at)
        {
            var id = await connection.ExecuteScalarAsync<long>(
                """
                INSERT INTO couples (sid, start_at, stop_at, calling_number, calling_name, called_number, called_name, types)
                VALUES (@sid, @at, @stop, @calling, @callingName, '5005', 'Desk', 33) RETURNING id
                """,
                new { sid, at, stop = at + 20_000, calling, callingName });
            // Files copied from a demo call with audio and a capture (type 1 and 32 rows), so prepare has work to queue.
            await connection.ExecuteAsync(
                """
                INSERT INTO media_files (couple_id, type, path, format, size, crc32, start_at, stop_at)
                SELECT @id, type, path, format, size, crc32, @at, @stop FROM media_files
                WHERE couple_id = (SELECT MIN(couple_id) FROM media_files WHERE type = 32) AND type IN (1, 32)
                """,
                new { id, at, stop = at + 20_000 });
            return id;
        }

        return (await AddAsync("scope-mine-sid", MineNumber, "Mina Visible", start), await AddAsync(OtherSid, OtherNumber, OtherName, start + 1000));
    }
}
