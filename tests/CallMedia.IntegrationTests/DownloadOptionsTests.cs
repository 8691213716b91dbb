using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json;
using CallMedia.Calls;
using CallMedia.Data;
using CallMedia.IntegrationTests.Infrastructure;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace CallMedia.IntegrationTests;

/// <summary>
/// Token options (issue 16): channel choice measured by decoding the audio and finding each party's tone in its
/// channel, file-name templates, calldata.json with local times, the single-call sidecar and the CSV export.
/// </summary>
public sealed class DownloadOptionsTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    // The demo's two-leg couple: the caller's tone is 300 + (1024 % 17) * 40 Hz, the callee's twice that.
    private const long TwoLegs = 1024;
    private const double CallerTone = 460;
    private const double CalleeTone = 920;

    // A stereo file made here: the caller (left) at 500 Hz, the callee (right) at 1300 Hz.
    private const double LeftTone = 500;
    private const double RightTone = 1300;

    private TestServer Server => fixture.Server;

    [Theory]
    [InlineData("stereo")]
    [InlineData("mono")]
    [InlineData("caller")]
    [InlineData("callee")]
    public async Task Stream_ChannelsOfTwoLegs_EachChannelCarriesItsPartysTone(string channels)
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, $"id_call[]={TwoLegs}&channels={channels}");
        using var response = await client.SendAsync(CallRec.Send(session, token));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("audio/mpeg", response.Content.Headers.ContentType!.MediaType);
        var whole = await response.Content.ReadAsByteArrayAsync();
        AssertTones(await DecodeAsync(whole, "mp3"), channels, CallerTone, CalleeTone);

        // A player's seek within the lease gets the cached conversion with ranges.
        using var seek = CallRec.Send(session, token);
        seek.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(1000, null);
        using var part = await client.SendAsync(seek);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(1000, part.Content.Headers.ContentRange!.From);
        Assert.True(part.Content.Headers.ContentRange.Length > 1000);
    }

    [Theory]
    [InlineData("mono")]
    [InlineData("caller")]
    [InlineData("callee")]
    public async Task Download_ChannelsOfStereoFileAsWav_EachChannelCarriesItsPartysTone(string channels)
    {
        var id = await StereoCoupleAsync();
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, $"id_call[]={id}&action=download&channels={channels}&format=wav");
        using var response = await client.SendAsync(CallRec.Send(session, token, "wav"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("audio/wav", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("attachment", response.Content.Headers.ContentDisposition!.DispositionType);
        var pcm = await DecodeAsync(await response.Content.ReadAsByteArrayAsync(), "wav");
        AssertTones(pcm, channels, LeftTone, RightTone);

        // The conversion is cached: a range within the lease gets the same bytes with a length.
        using var again = CallRec.Send(session, token, "wav");
        again.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(0, 99);
        using var part = await client.SendAsync(again);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(100, (await part.Content.ReadAsByteArrayAsync()).Length);
    }

    [Fact]
    public async Task Download_StereoOfStereoFile_IsTheStoredFileUnchanged()
    {
        var id = await StereoCoupleAsync();
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, $"id_call[]={id}&action=download&channels=stereo");
        using var response = await client.SendAsync(CallRec.Send(session, token, "wav"));
        Assert.Equal(await File.ReadAllBytesAsync(_stereoPath!), await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("caller")]
    [InlineData("callee")]
    [InlineData("stereo")]
    public async Task Token_OneSideOfMonoRecording_Is422SayingWhy(string channels)
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var (status, token, body) = await CallRec.TokenAsync(client, session, $"id_call[]=1001&channels={channels}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Null(token);
        Assert.Contains("<error number=\"12\">", body, StringComparison.Ordinal);
        Assert.Contains("single mono channel", body, StringComparison.Ordinal);

        using var api = await ApiClient.CreateAsync(Server);
        await api.SignInAsync();
        var answer = await api.PostAsync("/api/v1/tokens", new { ids = ApiClient.Ids(1001), channels });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, answer.Status);
        Assert.Contains("single mono channel", answer.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("caller")]
    [InlineData("stereo")]
    public async Task Token_ZipOfOnlyMonoRecordingsAskedForSides_Is422AtIssue(string channels)
    {
        var other = await InsertCoupleAsync(new DateTimeOffset(2026, 10, 3, 8, 0, 0, TimeSpan.Zero), 1_000, "+15550133", "Mono Caller", "3033", "Mono Agent", await MonoFileAsync());
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var (status, token, body) = await CallRec.TokenAsync(client, session, $"id_call[]=1001,{other}&action=download&channels={channels}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Null(token);
        Assert.Contains("<error number=\"12\">", body, StringComparison.Ordinal);

        using var api = await ApiClient.CreateAsync(Server);
        await api.SignInAsync();
        var answer = await api.PostAsync("/api/v1/tokens", new { ids = ApiClient.Ids(1001, other), action = "download", channels });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, answer.Status);
        Assert.Contains("single mono channel", answer.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("stereo", "download", true, "wav", "audio/wav")]
    [InlineData("mono", "download", false, "wav", "audio/wav")]
    [InlineData("stereo", "stream", true, "mp3", "audio/mpeg")]
    [InlineData("caller", "download", true, "mp3", "audio/mpeg")]
    public async Task ApiToken_ChannelsOnly_UrlExtensionMatchesWhatIsSent(string channels, string action, bool stereo, string extension, string contentType)
    {
        var id = stereo
            ? await StereoCoupleAsync()
            : await InsertCoupleAsync(new DateTimeOffset(2026, 10, 4, 8, 0, 0, TimeSpan.Zero), 1_000, "+15550144", "Mono Caller", "3044", "Mono Agent", await MonoFileAsync());
        using var api = await ApiClient.CreateAsync(Server);
        await api.SignInAsync();
        var issued = await api.PostAsync("/api/v1/tokens", new { ids = ApiClient.Ids(id), action, channels });
        Assert.Equal(HttpStatusCode.Created, issued.Status);
        Assert.StartsWith($"/callrec/sendcallfile.{extension}?", issued.Json.GetProperty("url").GetString(), StringComparison.Ordinal);
        using var response = await SendAsync(api, issued);
        Assert.Equal(contentType, response.Content.Headers.ContentType!.MediaType);
    }

    [Theory]
    [InlineData("channels=left", "channels")]
    [InlineData("format=ogg", "format")]
    [InlineData("name=%7Bid%7D_%7Bcolour%7D", "{colour}")]
    [InlineData("name=%7Bstart:%25%7D", "{start:%}")]
    [InlineData("name=%7Bid:000%7D", "{id}")]
    [InlineData("name=%7Bid", "name: a")]
    [InlineData("tz=Mars/Olympus_Mons", "tz")]
    [InlineData("sidecar=yes&action=download", "sidecar")]
    [InlineData("sidecar=1", "sidecar")]
    [InlineData("channels=mono&type=16", "channels")]
    [InlineData("name=%7Bid%7D&type=16&action=prepare", "name applies")]
    [InlineData("tz=Europe/Prague&type=16&action=prepare", "tz applies")]
    public async Task Token_BadOption_Is400NamingIt(string query, string named)
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var (status, token, body) = await CallRec.TokenAsync(client, session, $"id_call[]=1001&{query}");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Null(token);
        Assert.StartsWith(CallRec.Declaration + "<error number=\"3\">", body, StringComparison.Ordinal);
        Assert.Contains(WebUtility.HtmlEncode(named), body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("channels", "left")]
    [InlineData("format", "ogg")]
    [InlineData("name", "{id}_{colour}")]
    [InlineData("tz", "Europe/Atlantis")]
    public async Task ApiToken_BadOption_Is400ProblemNamingTheField(string field, string value)
    {
        using var api = await ApiClient.CreateAsync(Server);
        await api.SignInAsync();
        var answer = await api.PostAsync("/api/v1/tokens", new Dictionary<string, object> { ["ids"] = new[] { 1001L }, ["action"] = "download", [field] = value });
        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.True(answer.Json.GetProperty("errors").TryGetProperty(field, out _), answer.Body);
    }

    [Theory]
    [InlineData("""{ "ids": [1001], "action": "stream", "action": "download" }""", "action")]
    [InlineData("""{ "ids": [1001], "Ids": [1002] }""", "ids")]
    public async Task ApiToken_FieldGivenTwice_Is400NamingIt_AndIssuesNothing(string body, string field)
    {
        using var api = await ApiClient.CreateAsync(Server);
        await api.SignInAsync();
        async Task<long> LastIssueAsync()
        {
            await using var connection = await Server.Services.GetRequiredService<Database>().OpenAsync();
            return await connection.ExecuteScalarAsync<long>("SELECT COALESCE(MAX(seq), 0) FROM audit WHERE action LIKE 'token.%'");
        }

        var before = await LastIssueAsync();
        var answer = await api.PostAsync("/api/v1/tokens", body);
        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.Equal($"Field '{field}' is given more than once.", answer.Detail);
        Assert.True(answer.Json.GetProperty("errors").TryGetProperty(field, out _), answer.Body);
        Assert.Equal(before, await LastIssueAsync());
    }

    [Theory]
    [InlineData("name", "{id}")]
    [InlineData("tz", "Europe/Prague")]
    public async Task ApiToken_NameOrTzOnPrepare_Is400NamingTheField(string field, string value)
    {
        using var api = await ApiClient.CreateAsync(Server);
        await api.SignInAsync();
        var answer = await api.PostAsync("/api/v1/tokens", new Dictionary<string, object> { ["ids"] = new[] { 1001L }, ["type"] = 16, ["action"] = "prepare", [field] = value });
        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.True(answer.Json.GetProperty("errors").TryGetProperty(field, out _), answer.Body);
    }

    [Fact]
    public async Task Download_TemplateWithEveryPlaceholder_NamesTheFileInTheZone()
    {
        var id = await InsertCoupleAsync(new DateTimeOffset(2026, 7, 4, 16, 5, 9, TimeSpan.Zero), 75_400, "+15550199", "Ann Caller", "3001", "Bob Agent", await MonoFileAsync());
        const string Template = "{start:yyyy-MM-dd_HHmmss}_{stop:HHmm}_{calling}_{callingName}_{called}_{calledName}_{direction}_{duration}s_{type}_{id}_{sid}";
        using var api = await ApiClient.CreateAsync(Server);
        await api.SignInAsync();
        var issued = await api.PostAsync("/api/v1/tokens", new { ids = ApiClient.Ids(id), action = "download", name = Template, tz = "America/New_York" });
        Assert.Equal(HttpStatusCode.Created, issued.Status);
        using var response = await SendAsync(api, issued);
        var sid = $"dl-{id}";
        Assert.Equal($"2026-07-04_120509_1206_+15550199_Ann Caller_3001_Bob Agent_in_75s_audio_{id}_{sid}.wav", response.Content.Headers.ContentDisposition!.FileNameStar);
        Assert.Contains("filename*=UTF-8''", response.Content.Headers.ContentDisposition.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Zip_TemplateWithIllegalLongAndCollidingNames_IsSafeAndUnique()
    {
        var mono = await MonoFileAsync();
        var start = new DateTimeOffset(2026, 8, 1, 9, 0, 0, TimeSpan.Zero);
        var a = await InsertCoupleAsync(start, 10_000, "+15550101", "Eve", "3002", "Agent", mono);
        var b = await InsertCoupleAsync(start, 10_000, "+15550101", "Eve", "3002", "Agent", mono);
        var c = await InsertCoupleAsync(start, 10_000, "+15550101", "Eve", "3002", "Agent", mono);

        // Separators, a control and a bidi character, and a name far too long.
        var name = Uri.EscapeDataString("../x\\y:{calling}\u202Egpj\u0007" + new string('é', 300));
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, $"id_call[]={a},{b},{c}&action=download&name={name}");
        using var response = await client.SendAsync(CallRec.Send(session, token, "zip"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var zip = new ZipArchive(new MemoryStream(await response.Content.ReadAsByteArrayAsync()));
        var names = zip.Entries.Select(e => e.FullName).ToList();
        Assert.Equal(["calldata.txt", "calldata.json"], names[..2]);
        var media = names[2..];
        Assert.Equal(3, media.Count);
        Assert.Equal(3, media.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        foreach (var entry in media)
        {
            Assert.StartsWith("_x_y_+15550101gpjéé", entry, StringComparison.Ordinal);
            Assert.True(Encoding.UTF8.GetByteCount(entry) <= 143, entry);
            Assert.DoesNotContain(entry, ch => ch is '/' or '\\' or ':' or '\u202E' or '\u0007');
            Assert.EndsWith(".wav", entry, StringComparison.Ordinal);
        }

        Assert.EndsWith(" (2).wav", media[1], StringComparison.Ordinal);
        Assert.EndsWith(" (3).wav", media[2], StringComparison.Ordinal);

        // calldata.txt names each entry as it stands in the zip.
        using var reader = new StreamReader(zip.Entries[0].Open());
        var rows = (await reader.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries)[1..];
        Assert.Equal(media, rows.Select(r => r.Split('\t')[9]));
    }

    [Fact]
    public async Task Zip_CallDataJsonInNewYork_GivesLocalTimesAcrossTheDstChange()
    {
        var mono = await MonoFileAsync();
        // 2026-11-01: New York leaves daylight time at 06:00 UTC; 01:30 local happens twice.
        var before = await InsertCoupleAsync(new DateTimeOffset(2026, 11, 1, 5, 30, 0, TimeSpan.Zero), 90_000, "+15550102", "Dee", "3003", "Agent", mono);
        var after = await InsertCoupleAsync(new DateTimeOffset(2026, 11, 1, 6, 30, 0, TimeSpan.Zero), 90_500, "+15550102", "Dee", "3003", "Agent", mono);
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, $"id_call[]={before},{after}&action=download&tz=America/New_York");
        using var response = await client.SendAsync(CallRec.Send(session, token, "zip"));
        using var zip = new ZipArchive(new MemoryStream(await response.Content.ReadAsByteArrayAsync()));
        using var json = JsonDocument.Parse(zip.GetEntry("calldata.json")!.Open());
        Assert.Equal("America/New_York", json.RootElement.GetProperty("timeZone").GetString());
        var calls = json.RootElement.GetProperty("calls").EnumerateArray().ToList();
        Assert.Equal("2026-11-01T05:30:00Z", calls[0].GetProperty("start").GetString());
        Assert.Equal("2026-11-01T01:30:00-04:00", calls[0].GetProperty("startLocal").GetString());
        Assert.Equal("2026-11-01T01:31:30-04:00", calls[0].GetProperty("stopLocal").GetString());
        Assert.Equal("2026-11-01T01:30:00-05:00", calls[1].GetProperty("startLocal").GetString());
        Assert.Equal(90.5, calls[1].GetProperty("durationSeconds").GetDouble());
        Assert.Equal("ok", calls[1].GetProperty("status").GetString());
        var file = calls[1].GetProperty("media")[0];
        Assert.Equal("audio", file.GetProperty("type").GetString());
        Assert.Equal("wav", file.GetProperty("format").GetString());
        Assert.Equal(new FileInfo(mono).Length, file.GetProperty("size").GetInt64());
        Assert.Equal("+15550102", calls[1].GetProperty("calling").GetProperty("number").GetString());
    }

    [Fact]
    public async Task Zip_ChannelsCaller_HoldsConvertedEntriesWithHashesAndMarksMonoOnly()
    {
        var stereo = await StereoCoupleAsync();
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, $"id_call[]={TwoLegs},{stereo},1001&action=download&channels=caller");
        using var response = await client.SendAsync(CallRec.Send(session, token, "zip"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var zip = new ZipArchive(new MemoryStream(await response.Content.ReadAsByteArrayAsync()));
        using var json = JsonDocument.Parse(zip.GetEntry("calldata.json")!.Open());
        var calls = json.RootElement.GetProperty("calls").EnumerateArray().ToList();
        Assert.Equal("mono-only", calls[2].GetProperty("status").GetString());
        foreach (var call in calls[..2])
        {
            var media = call.GetProperty("media")[0];
            Assert.Equal("caller", media.GetProperty("channels").GetString());
            Assert.Equal("mp3", media.GetProperty("format").GetString());
            var entry = zip.GetEntry(media.GetProperty("entry").GetString()!)!;
            using var data = new MemoryStream();
            await using (var stream = entry.Open())
            {
                await stream.CopyToAsync(data);
            }

            Assert.Equal(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(data.ToArray())).ToLowerInvariant(), media.GetProperty("sha256").GetString());
            var pcm = await DecodeAsync(data.ToArray(), "mp3");
            AssertTones(pcm, "caller", call.GetProperty("id").GetInt64() == TwoLegs ? CallerTone : LeftTone, call.GetProperty("id").GetInt64() == TwoLegs ? CalleeTone : RightTone);
        }
    }

    [Fact]
    public async Task Download_Sidecar_SingleCallComesAsZipWithBothManifests()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001&action=download&sidecar=1");
        using var response = await client.SendAsync(CallRec.Send(session, token, "zip"));
        Assert.Equal("application/zip", response.Content.Headers.ContentType!.MediaType);
        using var zip = new ZipArchive(new MemoryStream(await response.Content.ReadAsByteArrayAsync()));
        Assert.Equal(["calldata.txt", "calldata.json"], zip.Entries.Take(2).Select(e => e.FullName));
        Assert.Single(zip.Entries.Skip(2), e => e.FullName.StartsWith("1001_", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OldClient_NoOptions_StoresNothingAndGetsTheSameBytesAndNames()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001&action=download");
        await using (var connection = await Server.Services.GetRequiredService<Database>().OpenAsync())
        {
            var stored = await connection.QuerySingleAsync<(string Ids, string? Options)>(
                "SELECT couple_ids, options FROM tokens WHERE hash = @hash", new { hash = CallMedia.Auth.Secrets.HashToken(token) });
            Assert.Equal(("1001", (string?)null), stored);
        }

        using var response = await client.SendAsync(CallRec.Send(session, token));
        var couple = (await Server.Services.GetRequiredService<CallStore>().GetCouplesAsync([1001]))[1001];
        var file = (await Server.Services.GetRequiredService<CallStore>().GetFilesAsync([1001L]))[1001].Single();
        Assert.Equal($"1001_{couple.Sid}.mp3", response.Content.Headers.ContentDisposition!.FileNameStar);
        Assert.Equal(await TestStorage.ReadStoredAsync(Server.Services, file.Path), await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task CallsCsv_SearchWithFilters_IsSpreadsheetSafeAndScoped()
    {
        var mono = await MonoFileAsync();
        var id = await InsertCoupleAsync(new DateTimeOffset(2026, 9, 9, 9, 9, 9, TimeSpan.Zero), 30_000, "+15550177", "=HYPERLINK(\"http://x\")", "3077", "Agent, \"Q\"", mono);
        using var api = await ApiClient.CreateAsync(Server);
        await api.SignInAsync();
        var answer = await api.GetAsync("/api/v1/calls.csv?number=%2B15550177&tz=Europe/Prague");
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.StartsWith("text/csv", answer.ContentType);
        var lines = answer.Body.TrimStart('\uFEFF').Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(CallMedia.Api.CallsCsv.Header, lines[0]);
        Assert.Equal(
            $"{id},dl-{id},2026-09-09T09:09:09Z,2026-09-09T09:09:39Z,2026-09-09T11:09:09+02:00,2026-09-09T11:09:39+02:00,30,+15550177,\"'=HYPERLINK(\"\"http://x\"\")\",3077,\"Agent, \"\"Q\"\"\",in,audio",
            Assert.Single(lines[1..]));

        // A user whose scope does not hold the number sees no rows.
        await Server.AddUserAsync("csv-scoped", "csv-scoped-pass-1", ["listener"], ["3999"]);
        using var scoped = await ApiClient.CreateAsync(Server);
        await scoped.SignInAsync("csv-scoped", "csv-scoped-pass-1");
        var none = await scoped.GetAsync("/api/v1/calls.csv?number=%2B15550177");
        Assert.Equal([CallMedia.Api.CallsCsv.Header], none.Body.TrimStart('\uFEFF').Split("\r\n", StringSplitOptions.RemoveEmptyEntries));

        var bad = await api.GetAsync("/api/v1/calls.csv?tz=Nowhere/Land");
        Assert.Equal(HttpStatusCode.BadRequest, bad.Status);
    }

    private static async Task<HttpResponseMessage> SendAsync(ApiClient api, ApiResponse issued)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, issued.Json.GetProperty("url").GetString());
        request.Headers.Add("Cookie", $"JSESSIONID={api.Session}");
        var response = await api.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response;
    }

    private static string? _stereoPath;
    private static string? _monoPath;

    /// <summary>A couple whose only audio is a stereo WAV: the caller left, the callee right.</summary>
    private async Task<long> StereoCoupleAsync()
    {
        if (_stereoPath is null)
        {
            var path = Path.Combine(Path.GetTempPath(), $"callmedia-stereo-{Guid.NewGuid():N}.wav");
            await Tool.RequireAsync(
                "ffmpeg", "-hide_banner", "-v", "error", "-f", "lavfi", "-i", $"sine=f={LeftTone}:d=3:r=16000", "-f", "lavfi", "-i", $"sine=f={RightTone}:d=3:r=16000",
                "-filter_complex", "[0:a][1:a]amerge=inputs=2", "-ac", "2", "-c:a", "pcm_s16le", path);
            _stereoPath = path;
        }

        return await InsertCoupleAsync(new DateTimeOffset(2026, 10, 2, 8, 0, 0, TimeSpan.Zero), 3_000, "+15550111", "Stereo Caller", "3011", "Stereo Agent", _stereoPath);
    }

    private static async Task<string> MonoFileAsync()
    {
        if (_monoPath is null)
        {
            var path = Path.Combine(Path.GetTempPath(), $"callmedia-mono-{Guid.NewGuid():N}.wav");
            await Tool.RequireAsync("ffmpeg", "-hide_banner", "-v", "error", "-f", "lavfi", "-i", "sine=f=700:d=1:r=8000", "-c:a", "pcm_s16le", path);
            _monoPath = path;
        }

        return _monoPath;
    }

    /// <summary>A couple with given times and parties and one linked audio file; its sid is <c>dl-&lt;id&gt;</c>.</summary>
    private async Task<long> InsertCoupleAsync(DateTimeOffset start, long durationMs, string calling, string callingName, string called, string calledName, string audioPath)
    {
        var file = TestData.FileOf(MediaType.Audio, audioPath);
        await using var connection = await Server.Services.GetRequiredService<Database>().OpenAsync();
        var from = start.ToUnixTimeMilliseconds();
        var id = await connection.ExecuteScalarAsync<long>(
            """
            INSERT INTO couples (sid, start_at, stop_at, calling_number, calling_name, called_number, called_name, types)
            VALUES (@sid, @from, @to, @calling, @callingName, @called, @calledName, 1) RETURNING id
            """,
            new { sid = "dl-" + Guid.NewGuid().ToString("N"), from, to = from + durationMs, calling, callingName, called, calledName });
        await connection.ExecuteAsync("UPDATE couples SET sid = @sid WHERE id = @id", new { sid = $"dl-{id}", id });
        await connection.ExecuteAsync(
            """
            INSERT INTO media_files (couple_id, type, path, format, size, crc32, start_at, stop_at)
            VALUES (@id, 1, @Path, @Format, @Size, @crc, @from, @to)
            """,
            new { id, file.Path, file.Format, file.Size, crc = (long)file.Crc32, from, to = from + durationMs });
        return id;
    }

    /// <summary>Decodes audio to 16 kHz 16-bit PCM (ffmpeg), keeping its channels.</summary>
    private static async Task<float[][]> DecodeAsync(byte[] data, string format)
    {
        var input = Path.Combine(Path.GetTempPath(), $"callmedia-decode-{Guid.NewGuid():N}.{format}");
        var output = Path.ChangeExtension(input, ".pcm.wav");
        await File.WriteAllBytesAsync(input, data);
        try
        {
            await Tool.RequireAsync("ffmpeg", "-hide_banner", "-v", "error", "-f", format, "-i", input, "-ar", "16000", "-c:a", "pcm_s16le", "-f", "wav", output);
            return ReadWav(await File.ReadAllBytesAsync(output));
        }
        finally
        {
            File.Delete(input);
            File.Delete(output);
        }
    }

    private static float[][] ReadWav(byte[] wav)
    {
        int channels = 0, at = 12;
        while (at + 8 <= wav.Length)
        {
            var id = Encoding.ASCII.GetString(wav, at, 4);
            var size = BitConverter.ToInt32(wav, at + 4);
            if (id == "fmt ")
            {
                channels = BitConverter.ToInt16(wav, at + 10);
            }
            else if (id == "data")
            {
                var frames = Math.Min(size, wav.Length - at - 8) / 2 / channels;
                var result = Enumerable.Range(0, channels).Select(_ => new float[frames]).ToArray();
                for (var i = 0; i < frames; i++)
                {
                    for (var c = 0; c < channels; c++)
                    {
                        result[c][i] = BitConverter.ToInt16(wav, at + 8 + (((i * channels) + c) * 2)) / 32768f;
                    }
                }

                return result;
            }

            at += 8 + size + (size & 1);
        }

        throw new InvalidDataException("no data chunk");
    }

    /// <summary>The power of one frequency in a channel (Goertzel), over the whole channel.</summary>
    private static double Power(float[] samples, double frequency)
    {
        var coefficient = 2 * Math.Cos(2 * Math.PI * frequency / 16000);
        double s1 = 0, s2 = 0;
        foreach (var x in samples)
        {
            var s0 = x + (coefficient * s1) - s2;
            s2 = s1;
            s1 = s0;
        }

        return ((s1 * s1) + (s2 * s2) - (coefficient * s1 * s2)) / samples.Length;
    }

    /// <summary>Stereo: caller's tone left, callee's right; mono: both in the one channel; one side: that tone alone.</summary>
    private static void AssertTones(float[][] pcm, string channels, double caller, double callee)
    {
        static void Dominates(float[] channel, double strong, double weak, string what)
        {
            var (s, w) = (Power(channel, strong), Power(channel, weak));
            Assert.True(s > 100 * w, string.Create(CultureInfo.InvariantCulture, $"{what}: {strong} Hz power {s:g3} vs {weak} Hz {w:g3}"));
        }

        switch (channels)
        {
            case "stereo":
                Assert.Equal(2, pcm.Length);
                Dominates(pcm[0], caller, callee, "left");
                Dominates(pcm[1], callee, caller, "right");
                break;
            case "mono":
                Assert.Single(pcm);
                var (a, b) = (Power(pcm[0], caller), Power(pcm[0], callee));
                Assert.True(a > 0.001 && b > 0.001 && a / b is > 0.2 and < 5, string.Create(CultureInfo.InvariantCulture, $"mono mix: {caller} Hz {a:g3}, {callee} Hz {b:g3}"));
                break;
            case "caller":
                Assert.Single(pcm);
                Dominates(pcm[0], caller, callee, "caller");
                break;
            default:
                Assert.Single(pcm);
                Dominates(pcm[0], callee, caller, "callee");
                break;
        }
    }
}
