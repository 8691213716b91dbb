using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using CallMedia.Calls;
using CallMedia.Data;
using CallMedia.Delivery;
using CallMedia.IntegrationTests.Infrastructure;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace CallMedia.IntegrationTests;

/// <summary>
/// <c>Delivery:AccelRedirect</c> behind a real nginx: CallMedia redeems and audits, nginx sends the stored file (ranges
/// included), the internal location cannot be asked for directly, and nginx's log ties the bytes it sent to the record.
/// </summary>
public sealed class AccelRedirectTests
{
    [Fact]
    public async Task Download_BehindNginx_NginxSendsTheFile_RangesWork_AndTheRecordSaysOffloaded()
    {
        await using var server = await TestServer.StartAsync($"Delivery:AccelRedirect={NginxFront.InternalPrefix}");
        var mediaRoot = Path.Combine(server.DataDir, "media");
        var stored = Path.Combine(mediaRoot, "2026", "offload.mp3");
        Directory.CreateDirectory(Path.GetDirectoryName(stored)!);
        var bytes = System.Security.Cryptography.RandomNumberGenerator.GetBytes(300_000);
        await File.WriteAllBytesAsync(stored, bytes);
        var id = (await server.SeedAsync([[TestData.FileOf(MediaType.Audio, stored)]]))[0];
        await using var nginx = await NginxFront.StartAsync(server.BaseAddress, mediaRoot);
        using var client = nginx.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, $"id_call[]={id}&action=download");

        using var response = await client.SendAsync(CallRec.Send(session, token));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(bytes, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal("audio/mpeg", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("attachment", response.Content.Headers.ContentDisposition?.DispositionType);
        Assert.False(response.Headers.Contains(AccelRedirect.AuditHeader));
        Assert.EndsWith(".mp3", response.Content.Headers.ContentDisposition?.FileName?.Trim('"'), StringComparison.Ordinal);
        Assert.Equal("bytes", Assert.Single(response.Headers.AcceptRanges));
        Assert.NotNull(response.Headers.ETag);
        Assert.False(response.Headers.ETag!.IsWeak);
        Assert.NotNull(response.Content.Headers.LastModified);

        // A resuming client: a range of the same token within its lease, sent by nginx too.
        using var range = CallRec.Send(session, token);
        range.Headers.Range = new RangeHeaderValue(1000, 1999);
        using var partial = await client.SendAsync(range);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal(bytes[1000..2000], await partial.Content.ReadAsByteArrayAsync());

        // Used up: a plain GET again is refused by CallMedia, and the internal location is nobody's to ask for.
        using var again = await client.SendAsync(CallRec.Send(session, token));
        Assert.Equal(HttpStatusCode.Forbidden, again.StatusCode);
        using var direct = await client.GetAsync($"{NginxFront.InternalPrefix}2026/offload.mp3");
        Assert.Equal(HttpStatusCode.NotFound, direct.StatusCode);

        // The redemption's record: offloaded, no count of its own; nginx's log line for it has the bytes nginx sent.
        var record = await RecordAsync(server, "redeem", id);
        Assert.Equal("offloaded", record.Outcome);
        Assert.Null(record.Bytes);
        var logged = await LoggedAsync(nginx, record.Seq);
        Assert.Equal($"{record.Seq} 200 {bytes.Length}", logged);
    }

    [Fact]
    public async Task Download_FileLinkedInFromOutsideTheMediaFolder_CallMediaSendsItItself()
    {
        // Only the media folder is behind nginx's internal location: a file linked in place elsewhere is not offloaded.
        await using var server = await TestServer.StartAsync($"Delivery:AccelRedirect={NginxFront.InternalPrefix}");
        var outside = Path.Combine(Path.GetTempPath(), $"cm-linked-{Guid.NewGuid():N}.mp3");
        var bytes = System.Security.Cryptography.RandomNumberGenerator.GetBytes(50_000);
        await File.WriteAllBytesAsync(outside, bytes);
        try
        {
            var id = (await server.SeedAsync([[TestData.FileOf(MediaType.Audio, outside)]]))[0];
            using var client = server.CreateClient();
            var session = await CallRec.LoginAsync(client);
            var token = await CallRec.RequireTokenAsync(client, session, $"id_call[]={id}&action=download");

            using var response = await client.SendAsync(CallRec.Send(session, token));

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.False(response.Headers.Contains("X-Accel-Redirect"));
            Assert.Equal(bytes, await response.Content.ReadAsByteArrayAsync());
            Assert.Equal("200-complete", (await RecordAsync(server, "redeem", id)).Outcome);
        }
        finally
        {
            File.Delete(outside);
        }
    }

    [Theory]
    [InlineData("_media/")]
    [InlineData("/_media")]
    [InlineData("/_media/../etc/")]
    [InlineData("/_media /")]
    public async Task Start_AccelRedirectNotAnInternalPath_RefusedNamingTheSetting(string prefix)
    {
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => TestServer.StartAsync($"Delivery:AccelRedirect={prefix}"));
        Assert.Contains("Delivery:AccelRedirect", ex.Message, StringComparison.Ordinal);
    }

    private sealed record Row(long Seq, long? Bytes, string Outcome);

    private static async Task<Row> RecordAsync(TestServer server, string action, long id)
    {
        var db = server.Services.GetRequiredService<Database>();
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            await using (var connection = await db.OpenAsync())
            {
                var row = await connection.QuerySingleOrDefaultAsync<Row>(
                    "SELECT seq, bytes, outcome FROM audit WHERE action = @action AND couple_ids = @ids AND outcome <> 'started' ORDER BY seq LIMIT 1",
                    new { action, ids = id.ToString(CultureInfo.InvariantCulture) });
                if (row is not null)
                {
                    return row;
                }
            }

            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), $"no closed {action} record for {id}");
            await Task.Delay(50);
        }
    }

    private static async Task<string?> LoggedAsync(NginxFront nginx, long seq)
    {
        // nginx writes its log line when the response is done, which may be just after the client has the last byte.
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var line = File.Exists(nginx.AccessLog)
                ? (await File.ReadAllLinesAsync(nginx.AccessLog)).FirstOrDefault(l => l.StartsWith($"{seq} ", StringComparison.Ordinal))
                : null;
            if (line is not null || waited.Elapsed > TimeSpan.FromSeconds(10))
            {
                return line;
            }

            await Task.Delay(50);
        }
    }
}
