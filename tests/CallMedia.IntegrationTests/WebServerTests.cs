using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using CallMedia.Import;
using CallMedia.IntegrationTests.Infrastructure;

namespace CallMedia.IntegrationTests;

/// <summary>What the server does for the web app, over real HTTP: pages and their headers, static files, waveform peaks.</summary>
public sealed partial class WebServerTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    [GeneratedRegex("<script(?![^>]*\\bsrc=)[^>]*>|<style|\\sstyle=|\\son[a-z]+=", RegexOptions.IgnoreCase)]
    private static partial Regex InlineCode();

    [Theory]
    [InlineData("/")]
    [InlineData("/sign-in")]
    [InlineData("/calls/1003")]
    [InlineData("/audit")]
    public async Task Page_AnyAppPath_ShellWithStrictCspAndNoInlineCode(string path)
    {
        using var client = Server.CreateClient();
        using var response = await client.GetAsync(path);
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-eval", csp, StringComparison.Ordinal);
        Assert.False(InlineCode().IsMatch(html), "the shell holds inline script or style: " + InlineCode().Match(html).Value);
        Assert.Contains("/assets/app.js", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Asset_BrowserAcceptsBrotli_CompressedWithEtagThen304()
    {
        using var client = Server.CreateClient();
        using var plain = await client.GetAsync("/assets/player.js");
        var plainBytes = await plain.Content.ReadAsByteArrayAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/assets/player.js");
        request.Headers.AcceptEncoding.ParseAdd("gzip, deflate, br");
        using var compressed = await client.SendAsync(request);
        var compressedBytes = await compressed.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        Assert.StartsWith("text/javascript", plain.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        Assert.Equal("br", Assert.Single(compressed.Content.Headers.ContentEncoding));
        Assert.True(compressedBytes.Length * 2 < plainBytes.Length, $"brotli {compressedBytes.Length} of {plainBytes.Length} bytes");
        using var again = new HttpRequestMessage(HttpMethod.Get, "/assets/player.js");
        again.Headers.IfNoneMatch.Add(compressed.Headers.ETag!);
        using var notModified = await client.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        using var shellAsAsset = await client.GetAsync("/assets/index.html");
        Assert.Equal(HttpStatusCode.NotFound, shellAsAsset.StatusCode);
    }

    [Theory]
    [InlineData("/callrec/sendcallfile.mp3", "/sign-in?return=%2Fcallrec%2Fsendcallfile.mp3")]
    [InlineData("/calls/1003?number=%2B420", "/sign-in?return=%2Fcalls%2F1003%3Fnumber%3D%252B420")]
    [InlineData("//evil.example/x", "/sign-in")]
    [InlineData("/\\evil.example/x", "/sign-in")]
    [InlineData("https://evil.example/", "/sign-in")]
    [InlineData("", "/sign-in")]
    public async Task CallRecSignInPage_Return_LeadsToWebSignInWithLocalReturnOnly(string back, string expected)
    {
        using var client = Server.CreateClient();
        using var response = await client.GetAsync("/callrec/?return=" + Uri.EscapeDataString(back));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(expected, response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task Peaks_TwoDirectionCall_TwoLanesCalleeSilentUntilItsLegStarts()
    {
        var peaks = await PeaksAsync(DemoData.TwoDirectionId);

        Assert.Equal(50, peaks.GetProperty("peaksPerSecond").GetInt32());
        var lanes = peaks.GetProperty("channels").EnumerateArray().Select(l => l.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        Assert.Equal(2, lanes.Length);
        Assert.Equal(lanes[0].Length, lanes[1].Length);
        Assert.InRange(lanes[0].Length / 50.0, peaks.GetProperty("durationSeconds").GetDouble() - 0.05, peaks.GetProperty("durationSeconds").GetDouble() + 0.05);

        // The demo's callee leg starts 1.5 s after the caller's: its lane is silent until then, then loud.
        Assert.True(lanes[0].Take(70).Max() > 0.2, "the caller speaks from the start");
        Assert.True(lanes[1].Take(70).Max() < 0.01, "the callee's lane is silent before its leg starts");
        Assert.True(lanes[1].Skip(80).Take(100).Max() > 0.2, "the callee speaks after 1.5 s");
        Assert.All(lanes.SelectMany(l => l), v => Assert.InRange(v, 0, 1));
    }

    [Fact]
    public async Task Peaks_MonoRecording_OneLaneCachedByContentAnd304OnRevisit()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var peaks = await PeaksAsync(1003, client, session);
        Assert.Single(peaks.GetProperty("channels").EnumerateArray());

        using var first = await SendPeaksAsync(client, session, 1003);
        var etag = first.Headers.ETag!;
        Assert.Equal("gzip", Assert.Single(first.Content.Headers.ContentEncoding));
        // Its own caching (a browser keeps it and asks again with the ETag), not the API's no-store.
        Assert.True(first.Headers.CacheControl is { Private: true, NoCache: true, NoStore: false }, first.Headers.CacheControl?.ToString());
        Assert.Single(Directory.GetFiles(Path.Combine(Server.DataDir, "media", ".cache", "peaks"), "*.json.gz"), f => f.Contains(etag.Tag.Trim('"'), StringComparison.Ordinal));
        using var revisit = await SendPeaksAsync(client, session, 1003, etag);
        Assert.Equal(HttpStatusCode.NotModified, revisit.StatusCode);
    }

    [Fact]
    public async Task Peaks_NoSessionOrOutOfScope_401Or404Problem()
    {
        using var client = Server.CreateClient();
        using (var anonymous = await client.GetAsync("/api/v1/calls/1003/peaks"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.Equal("application/problem+json", anonymous.Content.Headers.ContentType?.MediaType);
        }

        await Server.AddUserAsync("peaks-scoped", "Peaks-Pass-1", ["listener"], ["1999"]);
        var session = await CallRec.LoginAsync(client, "peaks-scoped", "Peaks-Pass-1");
        using var outside = await SendPeaksAsync(client, session, 1003);
        using var missing = await SendPeaksAsync(client, session, 999_999);
        Assert.Equal(HttpStatusCode.NotFound, outside.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        var detail = async (HttpResponseMessage r) => JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString();
        Assert.Equal(await detail(outside), await detail(missing));
    }

    private async Task<JsonElement> PeaksAsync(long id, HttpClient? client = null, string? session = null)
    {
        using var own = client is null ? Server.CreateClient() : null;
        client ??= own!;
        session ??= await CallRec.LoginAsync(client);
        using var response = await SendPeaksAsync(client, session, id);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var body = new System.IO.Compression.GZipStream(await response.Content.ReadAsStreamAsync(), System.IO.Compression.CompressionMode.Decompress);
        return (await JsonDocument.ParseAsync(body)).RootElement.Clone();
    }

    private static async Task<HttpResponseMessage> SendPeaksAsync(HttpClient client, string session, long id, EntityTagHeaderValue? ifNoneMatch = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/calls/{id}/peaks").WithSession(session);
        request.Headers.AcceptEncoding.ParseAdd("gzip");
        if (ifNoneMatch is not null)
        {
            request.Headers.IfNoneMatch.Add(ifNoneMatch);
        }

        return await client.SendAsync(request);
    }
}
