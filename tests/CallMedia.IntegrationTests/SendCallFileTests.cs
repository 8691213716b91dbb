using System.Net;
using System.Net.Http.Headers;
using CallMedia.Calls;
using CallMedia.IntegrationTests.Infrastructure;
using CallMedia.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace CallMedia.IntegrationTests;

public sealed class SendCallFileTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    [Theory]
    [InlineData("jsessionid")]
    [InlineData("jsessionId")]
    [InlineData("JSESSIONID")]
    public async Task FirefoxFlow_SessionInPathAndTokenInQuery_SendsZip(string parameterName)
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001,1002&action=download");

        using var response = await client.GetAsync($"/callrec/sendcallfile.mp3;{parameterName}={session}?token={token}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/zip", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("attachment; filename=calldata.zip", response.Content.Headers.GetValues("Content-Disposition").Single());
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(response.Content.Headers.ContentLength, bytes.Length);
        using var zip = new System.IO.Compression.ZipArchive(new MemoryStream(bytes));
        Assert.Equal(["calldata.txt", "calldata.json", "1001_", "1002_"], zip.Entries.Select(e => e.FullName.Length > 5 && e.FullName[4] == '_' ? e.FullName[..5] : e.FullName));
    }

    [Fact]
    public async Task ReusedToken_PlainRequest_Returns403()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001");

        using (var first = await client.SendAsync(CallRec.Send(session, token)))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        using var second = await client.SendAsync(CallRec.Send(session, token));
        Assert.Equal(HttpStatusCode.Forbidden, second.StatusCode);
        Assert.Matches("^<\\?xml version=\"1.0\" encoding=\"UTF-8\" \\?>\n<error number=\"\\d+\">[^<]+</error>$", await second.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("AAAAAAAAAAAAAAAAAAAA")]
    [InlineData("short")]
    [InlineData("%00%01")]
    public async Task UnknownToken_Returns403(string token)
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        using var response = await client.SendAsync(CallRec.Send(session, token));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task AnotherSessionsToken_Returns403AndStaysUsableByItsOwner()
    {
        using var client = Server.CreateClient();
        var owner = await CallRec.LoginAsync(client);
        var thief = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, owner, "id_call[]=1001");

        using (var stolen = await client.SendAsync(CallRec.Send(thief, token)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, stolen.StatusCode);
        }

        // A range request reads the lease before trying to redeem: another session's is refused either way.
        Assert.Equal(HttpStatusCode.Forbidden, await RangeStatusAsync(thief));
        using (var own = await client.SendAsync(CallRec.Send(owner, token)))
        {
            Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Forbidden, await RangeStatusAsync(thief));
        Assert.Equal(HttpStatusCode.PartialContent, await RangeStatusAsync(owner));

        async Task<HttpStatusCode> RangeStatusAsync(string session)
        {
            using var request = CallRec.Send(session, token);
            request.Headers.Range = new RangeHeaderValue(0, 9);
            using var response = await client.SendAsync(request);
            return response.StatusCode;
        }
    }

    [Fact]
    public async Task NoSession_Returns302WithReturnPathAndNoToken()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001");

        using var response = await client.GetAsync($"/callrec/sendcallfile.mp3?token={token}");

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal("/callrec/?return=%2Fcallrec%2Fsendcallfile.mp3", response.Headers.Location!.OriginalString);
        Assert.DoesNotContain(token, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingToken_Returns400()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/callrec/sendcallfile.mp3").WithSession(session);
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    [InlineData("PATCH")]
    public async Task OtherMethods_Return405(string method)
    {
        using var client = Server.CreateClient();
        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), "/callrec/sendcallfile.mp3?token=x"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Contains("GET", response.Content.Headers.Allow);
    }

    [Theory]
    [InlineData("PUT", "/callrec/downloadtoken?id_call[]=1001")]
    [InlineData("DELETE", "/callrec/loginservlet")]
    [InlineData("GET", "/callrec/logout")]
    public async Task OtherServices_AMethodTheyDoNotTake_Is405InTheErrorFraming(string method, string path)
    {
        using var client = Server.CreateClient();
        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal("text/xml", response.Content.Headers.ContentType?.MediaType);
        var error = System.Xml.Linq.XDocument.Parse(await response.Content.ReadAsStringAsync()).Root!;
        Assert.Equal(("error", "7"), (error.Name.LocalName, error.Attribute("number")?.Value));
        Assert.StartsWith("Use ", error.Value, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AudioStream_Mp3_SentInlineAsStored()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1003");

        using var response = await client.SendAsync(CallRec.Send(session, token));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("audio/mpeg", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("inline", response.Content.Headers.ContentDisposition!.DispositionType);
        Assert.Equal("bytes", response.Headers.AcceptRanges.Single());
        Assert.NotNull(response.Headers.ETag);
        Assert.False(response.Headers.ETag!.IsWeak);
        Assert.NotNull(response.Content.Headers.LastModified);
        Assert.Equal(await StoredBytesAsync(1003, MediaType.Audio), await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task RangeLease_SameSessionRangeRequests_Get206_PlainGets403()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1004");
        var stored = await StoredBytesAsync(1004, MediaType.Audio);

        // Safari's probe redeems the token, then the player reads and seeks with ranges.
        using (var probe = CallRec.Send(session, token))
        {
            probe.Headers.Range = new RangeHeaderValue(0, 1);
            using var response = await client.SendAsync(probe);
            Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
            Assert.Equal($"bytes 0-1/{stored.Length}", response.Content.Headers.ContentRange!.ToString());
        }

        using (var open = CallRec.Send(session, token))
        {
            open.Headers.Range = new RangeHeaderValue(0, null);
            using var response = await client.SendAsync(open);
            Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
            Assert.Equal(stored, await response.Content.ReadAsByteArrayAsync());
        }

        using (var seek = CallRec.Send(session, token))
        {
            seek.Headers.Range = new RangeHeaderValue(1000, 1999);
            using var response = await client.SendAsync(seek);
            Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
            Assert.Equal(stored[1000..2000], await response.Content.ReadAsByteArrayAsync());
        }

        using (var suffix = CallRec.Send(session, token))
        {
            suffix.Headers.Range = new RangeHeaderValue(null, 500);
            using var response = await client.SendAsync(suffix);
            Assert.Equal(stored[^500..], await response.Content.ReadAsByteArrayAsync());
        }

        using (var beyond = CallRec.Send(session, token))
        {
            beyond.Headers.Range = new RangeHeaderValue(stored.Length + 10, null);
            using var response = await client.SendAsync(beyond);
            Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, response.StatusCode);
            Assert.Equal($"bytes */{stored.Length}", response.Content.Headers.ContentRange!.ToString());
        }

        using var plain = await client.SendAsync(CallRec.Send(session, token));
        Assert.Equal(HttpStatusCode.Forbidden, plain.StatusCode);

        var other = await CallRec.LoginAsync(client);
        using var foreign = CallRec.Send(other, token);
        foreign.Headers.Range = new RangeHeaderValue(0, 10);
        using var foreignResponse = await client.SendAsync(foreign);
        Assert.Equal(HttpStatusCode.Forbidden, foreignResponse.StatusCode);
    }

    [Fact]
    public async Task Head_DoesNotRedeem()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1005");

        using (var head = await client.SendAsync(CallRec.Send(session, token, method: HttpMethod.Head)))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.True(head.Content.Headers.ContentLength > 0);
        }

        using var get = await client.SendAsync(CallRec.Send(session, token));
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
    }

    [Fact]
    public async Task SingleDownload_IsAttachmentWithRfc6266Names()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1006&action=download");

        using var response = await client.SendAsync(CallRec.Send(session, token));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("audio/mpeg", response.Content.Headers.ContentType!.MediaType);
        var disposition = response.Content.Headers.ContentDisposition!;
        Assert.Equal("attachment", disposition.DispositionType);
        Assert.StartsWith("1006_", disposition.FileNameStar, StringComparison.Ordinal);
        Assert.EndsWith(".mp3", disposition.FileNameStar, StringComparison.Ordinal);
        Assert.NotNull(disposition.FileName);
        Assert.Equal(await StoredBytesAsync(1006, MediaType.Audio), await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task VideoStream_MixedCouple_IsMp4_UnmixedIs409()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);

        var mixed = await CallRec.RequireTokenAsync(client, session, "id_call[]=1028&type=16");
        using (var response = await client.SendAsync(CallRec.Send(session, mixed, "mp4")))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("video/mp4", response.Content.Headers.ContentType!.MediaType);
            Assert.Equal(await StoredBytesAsync(1028, MediaType.Video), await response.Content.ReadAsByteArrayAsync());
        }

        var unmixed = await CallRec.RequireTokenAsync(client, session, "id_call[]=1025&type=16");
        using var conflict = await client.SendAsync(CallRec.Send(session, unmixed, "mp4"));
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Contains("action=prepare", await conflict.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AudioStream_Wav_IsTranscodedToMp3ThatSeeks()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1021");

        using var response = await client.SendAsync(CallRec.Send(session, token));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("audio/mpeg", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("codec_name=mp3", await ProbeAsync(await response.Content.ReadAsByteArrayAsync()), StringComparison.Ordinal);

        using var whole = CallRec.Send(session, token);
        whole.Headers.Range = new RangeHeaderValue(0, null);
        using var cached = await client.SendAsync(whole);
        Assert.Equal(HttpStatusCode.PartialContent, cached.StatusCode);
        var mp3 = await cached.Content.ReadAsByteArrayAsync();

        using var seek = CallRec.Send(session, token);
        seek.Headers.Range = new RangeHeaderValue(mp3.Length / 2, null);
        using var ranged = await client.SendAsync(seek);
        Assert.Equal(HttpStatusCode.PartialContent, ranged.StatusCode);
        Assert.Equal(mp3[(mp3.Length / 2)..], await ranged.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task AudioStream_TwoDirections_MergedIntoStereoSpanningTheCall()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1024");

        using var response = await client.SendAsync(CallRec.Send(session, token));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var probe = await ProbeAsync(await response.Content.ReadAsByteArrayAsync());
        Assert.Contains("channels=2", probe, StringComparison.Ordinal);

        var couple = (await Server.Services.GetRequiredService<CallStore>().GetCouplesAsync([1024]))[1024];
        var expected = (couple.Stop - couple.Start).TotalSeconds;
        var duration = double.Parse(probe.Split('\n').First(l => l.StartsWith("duration=", StringComparison.Ordinal))[9..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(duration, expected - 0.3, expected + 0.3);
    }

    [Fact]
    public async Task RevokedRightFromCli_AfterTokenIssued_Returns403AtSendWithinThePollInterval()
    {
        await Server.AddUserAsync("soon-revoked", "secret-3", ["downloader"]);
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client, "soon-revoked", "secret-3");
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001&action=download");

        var (exit, _, error) = await Server.CliAsync("", "user", "revoke", "soon-revoked", "downloader");
        Assert.True(exit == 0, error);
        await Server.AwaitChangesFromElsewhereAsync(); // the CLI is another process: the bound is the poll interval

        using var response = await client.SendAsync(CallRec.Send(session, token));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task ErrorForBrowser_IsShortHtml()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        using var request = CallRec.Send(session, "AAAAAAAAAAAAAAAAAAAA");
        request.Headers.Accept.ParseAdd("text/html");
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        Assert.StartsWith("<!DOCTYPE html>", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private async Task<byte[]> StoredBytesAsync(long coupleId, int type)
    {
        var files = await Server.Services.GetRequiredService<CallStore>().GetFilesAsync([coupleId]);
        var file = files[coupleId].Single(f => f.Type == type);
        return await TestStorage.ReadStoredAsync(Server.Services, file.Path);
    }

    private static async Task<string> ProbeAsync(byte[] media)
    {
        var path = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N") + ".mp3");
        await File.WriteAllBytesAsync(path, media);
        try
        {
            return await Tool.RequireAsync("ffprobe", "-v", "error", "-show_entries", "stream=codec_name,channels,sample_rate:format=duration", "-of", "default=noprint_wrappers=1", path);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
