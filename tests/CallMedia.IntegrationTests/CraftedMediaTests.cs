using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using CallMedia.Data;
using CallMedia.IntegrationTests.Infrastructure;
using CallMedia.Storage;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace CallMedia.IntegrationTests;

/// <summary>
/// A stored file whose content is an HLS playlist naming other recordings: import refuses it, and stream and
/// prepare never let ffmpeg follow it into another call's media.
/// </summary>
public sealed class CraftedMediaTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 9, 0, 0, TimeSpan.Zero);

    private readonly string _work = Directory.CreateTempSubdirectory("callmedia-crafted-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public async Task Import_PlaylistNamedWavOrRecd_IsRefusedWithLineNumber_NothingOfItsCoupleStored()
    {
        await using var server = await TestServer.StartAsync();
        var secret = await GenerateAsync("secret.mp3", "-f", "lavfi", "-i", "sine=f=1234:r=8000:d=2", "-c:a", "libmp3lame");
        var good = await GenerateAsync("good.wav", "-f", "lavfi", "-i", "sine=f=300:r=8000:d=2", "-c:a", "pcm_s16le");
        var wav = Playlist("evil.wav", secret);
        var recd = Playlist("evil.recd", secret);
        var sid = "crafted-" + Guid.NewGuid().ToString("N")[..8];
        var manifest = Manifest(
            (sid + "-ok", "audio", good), // line 2
            (sid + "-wav", "audio", wav), // line 3
            (sid + "-recd", "audio", good), // line 4
            (sid + "-recd", "recd", recd)); // line 5

        var (exit, _, error) = await server.CliAsync("", "import", manifest);

        Assert.Equal(1, exit);
        Assert.Contains($"line 3: {wav} is not a wav file (ffprobe found hls)", error, StringComparison.Ordinal);
        Assert.Contains($"line 5: {recd} is not a recd file (ffprobe found hls)", error, StringComparison.Ordinal);
        await using var connection = await server.Services.GetRequiredService<Database>().OpenAsync();
        Assert.Equal([sid + "-ok"], await connection.QueryAsync<string>("SELECT sid FROM couples WHERE sid LIKE @p ORDER BY sid", new { p = sid + "%" }));
    }

    [Fact]
    public async Task Import_EmptyFileOrTextUnderAMediaName_IsRefusedWithLineNumber()
    {
        await using var server = await TestServer.StartAsync();
        var good = await GenerateAsync("good2.wav", "-f", "lavfi", "-i", "sine=f=300:r=8000:d=2", "-c:a", "pcm_s16le");
        var empty = Path.Combine(_work, "empty.wav");
        await File.WriteAllBytesAsync(empty, []);
        var page = Path.Combine(_work, "page.wav");
        await File.WriteAllTextAsync(page, "<html><body>Error 404: recording not found</body></html>\n");
        var note = Path.Combine(_work, "note.mp3");
        await File.WriteAllTextAsync(note, "not audio\n");
        var sid = "textual-" + Guid.NewGuid().ToString("N")[..8];
        var manifest = Manifest(
            (sid + "-ok", "audio", good), // line 2
            (sid + "-empty", "audio", empty), // line 3
            (sid + "-page", "audio", page), // line 4
            (sid + "-note", "audio", note)); // line 5

        var (exit, _, error) = await server.CliAsync("", "import", manifest);

        Assert.Equal(1, exit);
        Assert.Contains($"line 3: {empty} is not a wav file (ffprobe found an empty file)", error, StringComparison.Ordinal);
        Assert.Contains($"line 4: {page} is not a wav file (ffprobe found no media format)", error, StringComparison.Ordinal);
        Assert.Contains($"line 5: {note} is not a mp3 file (ffprobe found no readable mp3)", error, StringComparison.Ordinal);
        await using var connection = await server.Services.GetRequiredService<Database>().OpenAsync();
        Assert.Equal([sid + "-ok"], await connection.QueryAsync<string>("SELECT sid FROM couples WHERE sid LIKE @p ORDER BY sid", new { p = sid + "%" }));
    }

    [Fact]
    public async Task Stream_StoredWavIsAPlaylistOfAnotherCall_FailsWithXmlError_NeverTheOtherCallsAudio()
    {
        await using var server = await TestServer.StartAsync();
        var secret = await GenerateAsync("secret.mp3", "-f", "lavfi", "-i", "sine=f=1234:r=8000:d=3", "-c:a", "libmp3lame");
        var victim = await GenerateAsync("victim.wav", "-f", "lavfi", "-i", "sine=f=300:r=8000:d=3", "-c:a", "pcm_s16le");
        var secretId = await ImportAsync(server, ("secret", "audio", secret));
        var victimId = await ImportAsync(server, ("victim", "audio", victim));
        // Put by hand into storage: the victim's stored WAV now lists the secret call's MP3.
        await OverwriteStoredAsync(server, victimId, 1, "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:3,\n" + await ReadablePathAsync(server, secretId, 1, secret) + "\n#EXT-X-ENDLIST\n");

        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, $"id_call[]={victimId}");
        using var live = await client.SendAsync(CallRec.Send(session, token));
        await AssertReadErrorAsync(live);

        // A player's range request takes the cached-transcode path: the same clear error.
        using var ranged = CallRec.Send(session, token);
        ranged.Headers.Range = new RangeHeaderValue(0, null);
        using var cached = await client.SendAsync(ranged);
        await AssertReadErrorAsync(cached);
    }

    [Fact]
    public async Task Prepare_StoredRecdIsAPlaylistOfAnotherCapture_FailsClearly_StoresNothing()
    {
        await using var server = await TestServer.StartAsync();
        var capture = await GenerateAsync("other.mkv", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:duration=3", "-c:v", "libx264", "-preset", "ultrafast", "-f", "matroska");
        var audio = await GenerateAsync("a.wav", "-f", "lavfi", "-i", "sine=f=300:r=8000:d=3", "-c:a", "pcm_s16le");
        var otherId = await ImportAsync(server, ("other", "audio", audio), ("other", "recd", capture));
        var victimId = await ImportAsync(server, ("victim", "audio", audio), ("victim", "recd", capture));
        await OverwriteStoredAsync(server, victimId, 32, "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:3,\n" + await ReadablePathAsync(server, otherId, 32, capture) + "\n#EXT-X-ENDLIST\n");

        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, $"id_call[]={victimId}&type=16&action=prepare");
        using var response = await client.SendAsync(CallRec.Send(session, token, "mp4"));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.StartsWith("<?xml", body, StringComparison.Ordinal);
        Assert.Contains("screen capture cannot be read", body, StringComparison.Ordinal);
        Assert.DoesNotContain(await TestStorage.ListAsync(server.DataDir, server.DatabaseArgs), k => Path.GetFileName(k).StartsWith($"{victimId}-video-", StringComparison.Ordinal));
    }

    private static async Task AssertReadErrorAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("text/xml", response.Content.Headers.ContentType!.MediaType);
        var text = Encoding.UTF8.GetString(body);
        Assert.StartsWith("<?xml", text, StringComparison.Ordinal);
        Assert.Contains("cannot be read", text, StringComparison.Ordinal);
        Assert.True(body.Length < 1000, "an error, not audio");
    }

    private string Playlist(string name, string target)
    {
        var path = Path.Combine(_work, name);
        File.WriteAllText(path, $"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:2,\n{target}\n#EXT-X-ENDLIST\n");
        return path;
    }

    private async Task<string> GenerateAsync(string name, params string[] args)
    {
        var path = Path.Combine(_work, name);
        await Tool.RequireAsync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", .. args, path]);
        return path;
    }

    private string Manifest(params (string Sid, string Type, string Path)[] rows)
    {
        var manifest = Path.Combine(_work, $"m-{Guid.NewGuid():N}.csv");
        var start = T0.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var stop = T0.AddSeconds(3).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        File.WriteAllText(manifest, "sid,start,stop,calling_number,called_number,type,path\n" + string.Concat(rows.Select(r => $"{r.Sid},{start},{stop},100,200,{r.Type},{r.Path}\n")));
        return manifest;
    }

    private async Task<long> ImportAsync(TestServer server, params (string Sid, string Type, string Path)[] rows)
    {
        var sid = rows[0].Sid + "-" + Guid.NewGuid().ToString("N")[..8];
        var (exit, _, error) = await server.CliAsync("", "import", Manifest([.. rows.Select(r => (sid, r.Type, r.Path))]));
        Assert.True(exit == 0, error);
        await using var connection = await server.Services.GetRequiredService<Database>().OpenAsync();
        return await connection.ExecuteScalarAsync<long>("SELECT id FROM couples WHERE sid = @sid", new { sid });
    }

    private static async Task<string> StoredPathAsync(TestServer server, long coupleId, int type)
    {
        await using var connection = await server.Services.GetRequiredService<Database>().OpenAsync();
        return (await connection.ExecuteScalarAsync<string>("SELECT path FROM media_files WHERE couple_id = @coupleId AND type = @type", new { coupleId, type }))!;
    }

    /// <summary>
    /// A local file holding another call's media, for a playlist to name: its stored file in the media folder, or,
    /// with media in a bucket (no local copy there), the file it was imported from.
    /// </summary>
    private static async Task<string> ReadablePathAsync(TestServer server, long coupleId, int type, string imported) =>
        TestStorage.IsS3 ? imported : Path.Combine(server.DataDir, "media", await StoredPathAsync(server, coupleId, type));

    /// <summary>Replaces a stored file's bytes (through the server's storage: the folder or the bucket) and its recorded size, as someone with access to storage could.</summary>
    private async Task OverwriteStoredAsync(TestServer server, long coupleId, int type, string content)
    {
        var replacement = Path.Combine(_work, $"replacement-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(replacement, content);
        var (size, _) = await server.Services.GetRequiredService<IMediaStorage>().StoreAsync(replacement, await StoredPathAsync(server, coupleId, type), CancellationToken.None);
        await using var connection = await server.Services.GetRequiredService<Database>().OpenAsync();
        await connection.ExecuteAsync("UPDATE media_files SET size = @size WHERE couple_id = @coupleId AND type = @type", new { size, coupleId, type });
    }
}
