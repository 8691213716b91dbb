using System.Net;
using System.Net.Http.Headers;
using CallMedia.Calls;
using CallMedia.IntegrationTests.Infrastructure;

namespace CallMedia.IntegrationTests;

/// <summary>Ranges, conditional requests, resumes and zip integrity, checked with real clients and tools.</summary>
public sealed class DeliveryTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    [Fact]
    public async Task Zip_RangeFromTheMiddle_EqualsSameSliceOfFullDownload()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001,1002,1003,1004,1005&action=download");

        using var full = await client.SendAsync(CallRec.Send(session, token, "zip"));
        var whole = await full.Content.ReadAsByteArrayAsync();
        var etag = full.Headers.ETag!;

        foreach (var (from, to) in new[] { (whole.Length / 3L, whole.Length / 2L), (0L, 29L), (whole.Length - 100L, whole.Length - 1L) })
        {
            using var request = CallRec.Send(session, token, "zip");
            request.Headers.Range = new RangeHeaderValue(from, to);
            using var part = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
            Assert.Equal(etag, part.Headers.ETag);
            Assert.Equal(whole[(int)from..((int)to + 1)], await part.Content.ReadAsByteArrayAsync());
        }
    }

    [Fact]
    public async Task Head_OnZip_GivesExactLengthAndDoesNotRedeem()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001,1002&action=download");

        using var head = await client.SendAsync(CallRec.Send(session, token, "zip", HttpMethod.Head));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal("bytes", head.Headers.AcceptRanges.Single());
        var length = head.Content.Headers.ContentLength;

        using var get = await client.SendAsync(CallRec.Send(session, token, "zip"));
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(length, (await get.Content.ReadAsByteArrayAsync()).Length);
    }

    [Fact]
    public async Task IfRange_MatchingETagGives206_StaleGivesWholeEntity()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1007");
        using var first = await client.SendAsync(CallRec.Send(session, token));
        var whole = await first.Content.ReadAsByteArrayAsync();

        using (var current = CallRec.Send(session, token))
        {
            current.Headers.Range = new RangeHeaderValue(10, 19);
            current.Headers.IfRange = new RangeConditionHeaderValue(first.Headers.ETag!);
            using var response = await client.SendAsync(current);
            Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        }

        using var stale = CallRec.Send(session, token);
        stale.Headers.Range = new RangeHeaderValue(10, 19);
        stale.Headers.IfRange = new RangeConditionHeaderValue(new EntityTagHeaderValue("\"stale\""));
        using var staleResponse = await client.SendAsync(stale);
        Assert.Equal(HttpStatusCode.OK, staleResponse.StatusCode);
        Assert.Equal(whole, await staleResponse.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task IfNoneMatch_CurrentETag_Gives304()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1008");
        using var head = await client.SendAsync(CallRec.Send(session, token, method: HttpMethod.Head));

        using var conditional = CallRec.Send(session, token);
        conditional.Headers.IfNoneMatch.Add(head.Headers.ETag!);
        using var response = await client.SendAsync(conditional);
        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
    }

    [Theory]
    [InlineData("bytes=0-9,20-29")] // several ranges: the whole entity rather than a multipart answer
    [InlineData("items=0-1")] // a unit other than bytes is ignored (RFC 9110 §14.2)
    public async Task RangeNotServedAsOne_GetsTheWholeEntity(string range)
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1009");
        using var request = CallRec.Send(session, token);
        request.Headers.TryAddWithoutValidation("Range", range);
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.True(body.Length > 30);
        Assert.Equal(response.Content.Headers.ContentLength, body.Length);
    }

    [Fact]
    public async Task CurlResume_ContinuesToIdenticalFile()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001,1002,1003&action=download");
        var work = Directory.CreateTempSubdirectory("callmedia-resume-").FullName;
        try
        {
            var url = new Uri(Server.BaseAddress, $"/callrec/sendcallfile.zip;jsessionid={session}?token={token}").ToString();
            // An interrupted first transfer: only the first 50,000 bytes arrived.
            await Tool.RequireAsync("curl", "-s", "-f", "-r", "0-49999", "-o", Path.Combine(work, "calls.zip"), url);
            Assert.Equal(50_000, new FileInfo(Path.Combine(work, "calls.zip")).Length);
            await Tool.RequireAsync("curl", "-s", "-f", "-C", "-", "-o", Path.Combine(work, "calls.zip"), url);

            using var request = CallRec.Send(session, token, "zip");
            request.Headers.Range = new RangeHeaderValue(0, null);
            using var whole = await client.SendAsync(request);
            Assert.Equal(await whole.Content.ReadAsByteArrayAsync(), await File.ReadAllBytesAsync(Path.Combine(work, "calls.zip")));
            await Tool.RequireAsync("unzip", "-tq", Path.Combine(work, "calls.zip"));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task Zip_FileGoneBeforeToken_ListedAsMissing_AllGoneIs404()
    {
        var work = Directory.CreateTempSubdirectory("callmedia-missing-").FullName;
        var kept = Path.Combine(work, "kept.mp3");
        var gone = Path.Combine(work, "gone.mp3");
        await File.WriteAllBytesAsync(kept, new byte[1234]);
        await File.WriteAllBytesAsync(gone, new byte[4321]);
        var ids = await Server.SeedAsync([[TestData.FileOf(MediaType.Audio, kept)], [TestData.FileOf(MediaType.Audio, gone)]]);
        File.Delete(gone);

        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var manifest = await CallRec.ManifestAsync(client, session, $"id_call[]={ids[0]},{ids[1]}&action=download");
        var rows = manifest.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(r => r.Split('\t')).ToList();
        Assert.Equal("ok", rows[1][12]);
        Assert.Equal(("missing", "", "4321"), (rows[2][12], rows[2][9], rows[2][10]));

        var token = await CallRec.RequireTokenAsync(client, session, $"id_call[]={ids[1]}&action=download");
        using var single = await client.SendAsync(CallRec.Send(session, token));
        Assert.Equal(HttpStatusCode.NotFound, single.StatusCode);
        Directory.Delete(work, recursive: true);
    }

    [Fact]
    public async Task Zip_AllUnmixed_Is409_PartlyUnmixedListsThem()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1025,1026&type=16&action=download");
        using var response = await client.SendAsync(CallRec.Send(session, token, "zip"));
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);

        var manifest = await CallRec.ManifestAsync(client, session, "id_call[]=1028,1025&type=16&action=download");
        var statuses = manifest.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(r => r.Split('\t')[12]);
        Assert.Equal(["ok", "unmixed"], statuses);
    }

    [Fact]
    public async Task Zip_FileVanishedMidSend_AbortsTheTransfer()
    {
        var work = Directory.CreateTempSubdirectory("callmedia-vanish-").FullName;
        var first = Path.Combine(work, "first.mp4");
        var second = Path.Combine(work, "second.mp4");
        var noise = new byte[48 * 1024 * 1024];
        Random.Shared.NextBytes(noise);
        await File.WriteAllBytesAsync(first, noise);
        await File.WriteAllBytesAsync(second, noise);
        var ids = await Server.SeedAsync([[TestData.FileOf(MediaType.Audio, first)], [TestData.FileOf(MediaType.Audio, second)]]);

        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, $"id_call[]={ids[0]},{ids[1]}&action=download");
        using var response = await client.SendAsync(CallRec.Send(session, token, "zip"), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var expected = response.Content.Headers.ContentLength!.Value;
        File.Delete(second);

        await using var body = await response.Content.ReadAsStreamAsync();
        var received = 0L;
        var buffer = new byte[1 << 16];
        var failure = await Record.ExceptionAsync(async () =>
        {
            int n;
            while ((n = await body.ReadAsync(buffer)) > 0)
            {
                received += n;
            }
        });

        Assert.True(failure is not null || received < expected, $"got {received} of {expected} bytes and no error");
        Assert.True(received < expected);
        Directory.Delete(work, recursive: true);
    }
}
