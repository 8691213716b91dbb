using System.Globalization;
using System.Net;
using System.Text.Json;
using CallMedia.IntegrationTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace CallMedia.IntegrationTests;

/// <summary>/api/v1 calls, tokens, peaks and prepare jobs over real HTTP; every answer checked against the OpenAPI document.</summary>
public sealed class ApiCallsTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    private async Task<ApiClient> SignedInAsync()
    {
        var api = await ApiClient.CreateAsync(Server);
        await api.SignInAsync();
        return api;
    }

    [Fact]
    public async Task Calls_PagedWithCursor_NewestFirstEachCallOnce()
    {
        using var api = await SignedInAsync();
        var seen = new List<(long Id, DateTimeOffset Start)>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = (await api.GetAsync("/api/v1/calls?limit=5" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)))).Json;
            var items = page.GetProperty("items").EnumerateArray().ToList();
            Assert.InRange(items.Count, 1, 5);
            seen.AddRange(items.Select(i => (i.GetProperty("id").GetInt64(), i.GetProperty("start").GetDateTimeOffset())));
            cursor = page.GetProperty("next").GetString();
            pages++;
        }
        while (cursor is not null);

        Assert.Equal(28, seen.Count);
        Assert.Equal(28, seen.Select(s => s.Id).Distinct().Count());
        Assert.Equal(6, pages);
        Assert.Equal(seen.OrderByDescending(s => s.Start).ThenByDescending(s => s.Id), seen);
    }

    [Fact]
    public async Task Calls_Filters_NumberPrefixNameMediaDurationAndTimes()
    {
        using var api = await SignedInAsync();
        var all = (await api.GetAsync("/api/v1/calls?limit=500")).Json.GetProperty("items").EnumerateArray().ToList();
        var first = all[^1];
        var number = first.GetProperty("calling").GetProperty("number").GetString()!;

        var byPrefix = await IdsAsync(api, "number=" + Uri.EscapeDataString(number[..^2] + "*"));
        var byNumber = await IdsAsync(api, "number=" + Uri.EscapeDataString(number));
        var expected = all.Where(c => c.GetProperty("calling").GetProperty("number").GetString() == number || c.GetProperty("called").GetProperty("number").GetString() == number)
            .Select(c => c.GetProperty("id").GetInt64()).ToList();
        Assert.Equal(expected, byNumber);
        Assert.Superset(byNumber.ToHashSet(), byPrefix.ToHashSet());
        Assert.Empty(await IdsAsync(api, "number=" + Uri.EscapeDataString(number[..^2])));

        var name = first.GetProperty("called").GetProperty("name").GetString()!;
        var byName = await IdsAsync(api, "name=" + Uri.EscapeDataString(name[..3].ToUpperInvariant()));
        Assert.Contains(first.GetProperty("id").GetInt64(), byName);

        var unmixed = await IdsAsync(api, "has=unmixed");
        Assert.Equal(
            all.Where(c => c.GetProperty("media").EnumerateArray().Any(m => m.GetString() == "recd") && !c.GetProperty("media").EnumerateArray().Any(m => m.GetString() == "video")).Select(c => c.GetProperty("id").GetInt64()),
            unmixed);
        Assert.NotEmpty(unmixed);

        var longCalls = await IdsAsync(api, "minDuration=60");
        Assert.Equal(all.Where(c => c.GetProperty("durationSeconds").GetDouble() >= 60).Select(c => c.GetProperty("id").GetInt64()), longCalls);

        var start = first.GetProperty("start").GetDateTimeOffset();
        var window = await IdsAsync(api, $"from={Uri.EscapeDataString(start.ToString("o", CultureInfo.InvariantCulture))}&to={Uri.EscapeDataString(start.AddSeconds(1).ToString("o", CultureInfo.InvariantCulture))}");
        Assert.Contains(first.GetProperty("id").GetInt64(), window);
        Assert.All(window, id => Assert.Equal(start, all.Single(c => c.GetProperty("id").GetInt64() == id).GetProperty("start").GetDateTimeOffset()));
    }

    private static async Task<List<long>> IdsAsync(ApiClient api, string query) =>
        (await api.GetAsync("/api/v1/calls?limit=500&" + query)).Json.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetInt64()).ToList();

    [Fact]
    public async Task Calls_WithTz_AddsLocalTimesWithOffset()
    {
        using var api = await SignedInAsync();
        var item = (await api.GetAsync("/api/v1/calls?limit=1&tz=Asia/Kolkata")).Json.GetProperty("items")[0];

        var local = item.GetProperty("startLocal").GetString()!;
        Assert.EndsWith("+05:30", local, StringComparison.Ordinal);
        Assert.Equal(item.GetProperty("start").GetDateTimeOffset(), DateTimeOffset.Parse(local, CultureInfo.InvariantCulture));
        Assert.False((await api.GetAsync("/api/v1/calls?limit=1")).Json.GetProperty("items")[0].TryGetProperty("startLocal", out _));
    }

    [Theory]
    [InlineData("limit=501", "limit")]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=ten", "limit")]
    [InlineData("from=yesterday", "from")]
    [InlineData("to=2026-13-45T00:00:00Z", "to")]
    [InlineData("tz=Mars/Olympus_Mons", "tz")]
    [InlineData("from=0001-01-01T00:00:00&tz=Pacific/Kiritimati", "from")]
    [InlineData("to=9999-12-31T23:59:59&tz=Pacific/Pago_Pago", "to")]
    [InlineData("number=*", "number")]
    [InlineData("number=1*2", "number")]
    [InlineData("has=everything", "has")]
    [InlineData("minDuration=-3", "minDuration")]
    [InlineData("minDuration=NaN", "minDuration")]
    [InlineData("maxDuration=-NaN", "maxDuration")]
    [InlineData("maxDuration=Infinity", "maxDuration")]
    [InlineData("cursor=AAAA", "cursor")]
    [InlineData("number=1001&number=1002", "number")]
    [InlineData("limit=5&limit=6", "limit")]
    public async Task Calls_BadParameter_Answers400NamingIt(string query, string parameter)
    {
        using var api = await SignedInAsync();
        var response = await api.GetAsync("/api/v1/calls?" + query);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.StartsWith(parameter, response.Detail, StringComparison.Ordinal);
        Assert.True(response.Json.GetProperty("errors").TryGetProperty(parameter, out _));
    }

    [Fact]
    public async Task Calls_LongParameterGivenTwice_Answers400WithItsNameCutShort()
    {
        using var api = await SignedInAsync();
        var name = new string('k', 3000);
        var response = await api.GetAsync($"/api/v1/calls?{name}=1&{name}=2");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal(new string('k', 40) + "… is given more than once.", response.Detail);
        Assert.True(response.Body.Length < 1000, response.Body);
    }

    [Fact]
    public async Task Calls_TamperedCursor_Answers400()
    {
        using var api = await SignedInAsync();
        var next = (await api.GetAsync("/api/v1/calls?limit=2")).Json.GetProperty("next").GetString()!;
        var middle = next.Length / 2;
        var forged = next[..middle] + (next[middle] == 'A' ? 'B' : 'A') + next[(middle + 1)..];

        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/api/v1/calls?limit=2&cursor=" + next)).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.GetAsync("/api/v1/calls?limit=2&cursor=" + forged)).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.GetAsync("/api/v1/calls?limit=2&has=audio&cursor=" + next)).Status);
    }

    [Fact]
    public async Task CallDetail_DemoCall_FilesJobsAndActions()
    {
        using var api = await SignedInAsync();
        var call = (await api.GetAsync("/api/v1/calls/1001")).Json;

        Assert.Equal(1001, call.GetProperty("id").GetInt64());
        var files = call.GetProperty("files").EnumerateArray().ToList();
        Assert.NotEmpty(files);
        Assert.All(files, f =>
        {
            Assert.True(f.GetProperty("available").GetBoolean());
            Assert.Matches("^[0-9A-F]{8}$", f.GetProperty("crc32").GetString()!);
            Assert.True(f.GetProperty("size").GetInt64() > 0);
        });
        var actions = call.GetProperty("actions");
        Assert.True(actions.GetProperty("stream").GetBoolean());
        Assert.True(actions.GetProperty("download").GetBoolean());
    }

    [Theory]
    [InlineData("/api/v1/calls/424242")]
    [InlineData("/api/v1/calls/abc")]
    [InlineData("/api/v1/calls/-1")]
    [InlineData("/api/v1/calls/99999999999999999999999")]
    [InlineData("/api/v1/calls/424242/access")]
    [InlineData("/api/v1/calls/424242/peaks")]
    [InlineData("/api/v1/jobs/424242")]
    [InlineData("/api/v1/jobs/x")]
    public async Task Get_NoSuchThing_Answers404Problem(string path)
    {
        using var api = await SignedInAsync();
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync(path)).Status);
    }

    [Fact]
    public async Task Tokens_Download_IsRedeemedAtTheCallRecUrlWithTheFilesExtension()
    {
        using var api = await SignedInAsync();
        var format = (await api.GetAsync("/api/v1/calls/1001")).Json.GetProperty("files")[0].GetProperty("format").GetString();
        var issued = await api.PostAsync("/api/v1/tokens", new { ids = ApiClient.Ids(1001), type = 1, action = "download" });

        Assert.Equal(HttpStatusCode.Created, issued.Status);
        var token = issued.Json.GetProperty("token").GetString()!;
        LogSink.Shared.AddSecret(token);
        var url = issued.Json.GetProperty("url").GetString()!;
        Assert.Equal($"/callrec/sendcallfile.{format}?token={token}", url);
        Assert.InRange(issued.Json.GetProperty("expires").GetDateTimeOffset() - Server.Clock.GetUtcNow(), TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(11));

        using var request = new HttpRequestMessage(HttpMethod.Get, url).WithSession(api.Session!);
        using var response = await api.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("attachment", response.Content.Headers.ContentDisposition?.DispositionType);

        var zip = await api.PostAsync("/api/v1/tokens", new { ids = ApiClient.Ids(1001, 1002), action = "download" });
        Assert.StartsWith("/callrec/sendcallfile.zip?token=", zip.Json.GetProperty("url").GetString(), StringComparison.Ordinal);
        LogSink.Shared.AddSecret(zip.Json.GetProperty("token").GetString()!);
    }

    [Theory]
    [InlineData("{\"ids\":[1001,1002],\"action\":\"stream\"}", "one couple")]
    [InlineData("{\"ids\":[1001],\"type\":2}", "type")]
    [InlineData("{\"ids\":[1001],\"type\":1,\"action\":\"prepare\"}", "type=16")]
    [InlineData("{\"ids\":[]}", "ids")]
    [InlineData("{\"ids\":[0]}", "ids")]
    [InlineData("{\"ids\":[1001],\"action\":\"burn\"}", "action")]
    [InlineData("{\"ids\":[1001],\"expires\":\"never\"}", "expires")]
    [InlineData("{\"ids\":\"1001\"}", "ids")]
    public async Task Tokens_BadRequest_Answers400AndIssuesNothing(string body, string named)
    {
        using var api = await SignedInAsync();
        var response = await api.PostAsync("/api/v1/tokens", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains(named, response.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tokens_NoSuchCall_Answers404()
    {
        using var api = await SignedInAsync();
        Assert.Equal(HttpStatusCode.NotFound, (await api.PostAsync("/api/v1/tokens", new { ids = ApiClient.Ids(424242) })).Status);
    }

    [Fact]
    public async Task Tokens_RightMissing_Answers403()
    {
        await Server.AddUserAsync("api-listener", "listener-password", ["listener"]);
        using var api = await ApiClient.CreateAsync(Server);
        await api.SignInAsync("api-listener", "listener-password");

        Assert.Equal(HttpStatusCode.Forbidden, (await api.PostAsync("/api/v1/tokens", new { ids = ApiClient.Ids(1001), action = "download" })).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await api.PostAsync("/api/v1/calls/1001/prepare", null)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await api.GetAsync("/api/v1/calls/1001/access")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await api.GetAsync("/api/v1/audit")).Status);
        Assert.Equal(HttpStatusCode.Created, (await api.PostAsync("/api/v1/tokens", new { ids = ApiClient.Ids(1001) })).Status);
    }

    [Fact]
    public async Task Peaks_TwoLegCall_TwoChannelsCachedWithETag()
    {
        using var api = await SignedInAsync();
        var twoLegs = await FindAsync(api, c => c.GetProperty("files").EnumerateArray().Count(f => f.GetProperty("type").GetString() == "audio") == 2);
        var oneFile = await FindAsync(api, c => c.GetProperty("files").EnumerateArray().Count(f => f.GetProperty("type").GetString() == "audio") == 1);

        var peaks = await api.GetAsync($"/api/v1/calls/{twoLegs.GetProperty("id").GetInt64()}/peaks");

        Assert.Equal(HttpStatusCode.OK, peaks.Status);
        var channels = peaks.Json.GetProperty("channels").EnumerateArray().ToList();
        Assert.Equal(2, channels.Count);
        var duration = peaks.Json.GetProperty("durationSeconds").GetDouble();
        Assert.Equal(50, peaks.Json.GetProperty("peaksPerSecond").GetInt32());
        Assert.All(channels, c =>
        {
            Assert.InRange(c.GetArrayLength(), (int)(duration * 50), (int)(duration * 50) + 60);
            Assert.All(c.EnumerateArray(), p => Assert.InRange(p.GetDouble(), 0, 1));
            Assert.Contains(c.EnumerateArray(), p => p.GetDouble() > 0.01);
        });
        var etag = peaks.Headers.ETag!;
        var again = await api.SendAsync(HttpMethod.Get, $"/api/v1/calls/{twoLegs.GetProperty("id").GetInt64()}/peaks", customize: r => r.Headers.IfNoneMatch.Add(etag));
        Assert.Equal(HttpStatusCode.NotModified, again.Status);

        var single = await api.GetAsync($"/api/v1/calls/{oneFile.GetProperty("id").GetInt64()}/peaks");
        Assert.InRange(single.Json.GetProperty("channels").GetArrayLength(), 1, 2);
    }

    [Fact]
    public async Task Prepare_UnmixedCall_JobRunsToDoneAndCallGetsVideo()
    {
        using var api = await SignedInAsync();
        var id = (await IdsAsync(api, "has=unmixed"))[0];

        var accepted = await api.PostAsync($"/api/v1/calls/{id}/prepare", null);

        Assert.Equal(HttpStatusCode.Accepted, accepted.Status);
        var jobId = accepted.Json.GetProperty("id").GetInt64();
        Assert.Equal($"/api/v1/jobs/{jobId}", accepted.Headers.Location!.ToString());
        Assert.Equal(id, accepted.Json.GetProperty("coupleId").GetInt64());
        JsonElement job;
        var waited = System.Diagnostics.Stopwatch.StartNew();
        do
        {
            await Task.Delay(200);
            job = (await api.GetAsync($"/api/v1/jobs/{jobId}")).Json;
        }
        while (job.GetProperty("state").GetString() is "queued" or "running" && waited.Elapsed < TimeSpan.FromMinutes(2));

        Assert.Equal("done", job.GetProperty("state").GetString());
        Assert.Equal(100, job.GetProperty("progress").GetInt32());
        var call = (await api.GetAsync($"/api/v1/calls/{id}")).Json;
        Assert.Contains("video", call.GetProperty("media").EnumerateArray().Select(m => m.GetString()));
        Assert.Contains(call.GetProperty("jobs").EnumerateArray(), j => j.GetProperty("id").GetInt64() == jobId);
        var again = await api.PostAsync($"/api/v1/calls/{id}/prepare", null);
        Assert.Equal(HttpStatusCode.OK, again.Status);
        Assert.Equal("done", again.Json.GetProperty("state").GetString());

        // Audited as every prepare is (API.md §7): who asked, for which call, and what came of it.
        await using var connection = await Server.Services.GetRequiredService<CallMedia.Data.Database>().OpenAsync();
        var records = await Dapper.SqlMapper.QueryAsync<(string User, string Outcome)>(
            connection, "SELECT user_name, outcome FROM audit WHERE action = 'prepare' AND couple_ids = @ids ORDER BY seq", new { ids = id.ToString(CultureInfo.InvariantCulture) });
        Assert.Equal([("demo", "requested"), ("demo", "ready")], records);
    }

    [Fact]
    public async Task Prepare_CallWithoutCapture_Answers409()
    {
        using var api = await SignedInAsync();
        var plain = await FindAsync(api, c => !c.GetProperty("media").EnumerateArray().Any(m => m.GetString() is "recd" or "video"));
        Assert.Equal(HttpStatusCode.Conflict, (await api.PostAsync($"/api/v1/calls/{plain.GetProperty("id").GetInt64()}/prepare", null)).Status);
    }

    private static async Task<JsonElement> FindAsync(ApiClient api, Func<JsonElement, bool> match)
    {
        foreach (var id in await IdsAsync(api, ""))
        {
            var call = (await api.GetAsync($"/api/v1/calls/{id}")).Json;
            if (match(call))
            {
                return call;
            }
        }

        throw new InvalidOperationException("no demo call matches");
    }
}
