using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using CallMedia.Data;
using CallMedia.IntegrationTests.Infrastructure;
using CallMedia.Storage;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CallMedia.IntegrationTests;

/// <summary>
/// A server with <c>Storage:Encryption=on</c> over the demo data, converted by <c>callmedia storage encrypt</c>,
/// plus a random recording imported while encryption was on. The plaintexts are kept from before the conversion.
/// </summary>
public sealed class EncryptionFixture : IAsyncLifetime
{
    public const int Chunk = EncryptedFormat.ChunkSize;

    private TestServer? _server;

    public TestServer Server => _server ?? throw new InvalidOperationException("server not started");

    public string KeyFile { get; } = Path.Combine(Path.GetTempPath(), "callmedia-key-" + Guid.NewGuid().ToString("N"));

    public string[] Config => [$"--Storage:Encryption=on", $"--Storage:KeyFile={KeyFile}"];

    /// <summary>The plaintext of every stored file by its stored path, read before the conversion.</summary>
    public Dictionary<string, byte[]> Plaintexts { get; } = new(StringComparer.Ordinal);

    /// <summary>Stored paths by couple id.</summary>
    public ILookup<long, string> Paths { get; private set; } = Enumerable.Empty<string>().ToLookup(_ => 0L);

    public async Task InitializeAsync()
    {
        using (var file = PrivateFile.Create(KeyFile))
        using (var writer = new StreamWriter(file))
        {
            await writer.WriteLineAsync(MasterKeys.NewKeyLine());
        }

        _server = await TestServer.StartAsync("Storage:Encryption=on", $"Storage:KeyFile={KeyFile}");
        var media = Server.Services.GetRequiredService<MediaRoot>();
        await using (var connection = await Server.Services.GetRequiredService<Database>().OpenAsync())
        {
            var rows = (await connection.QueryAsync<(long CoupleId, string Path)>("SELECT couple_id, path FROM media_files")).ToList();
            foreach (var (_, path) in rows)
            {
                Plaintexts[path] = await File.ReadAllBytesAsync(media.Resolve(path));
            }

            Paths = rows.ToLookup(r => r.CoupleId, r => r.Path);
        }

        var (exit, output, error) = await Server.CliAsync("", ["storage", "encrypt", .. Config]);
        Assert.True(exit == 0, error);
        Assert.Contains($"{Plaintexts.Count} encrypted", output, StringComparison.Ordinal);
    }

    /// <summary>Imports a recording of random bytes (declared MP3) while encryption is on; its couple id and plaintext.</summary>
    public async Task<(long Id, string Path, byte[] Plaintext)> ImportRandomAsync(int length)
    {
        var work = Path.Combine(Path.GetTempPath(), "callmedia-enc-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            var plaintext = new byte[length];
            new Random(length).NextBytes(plaintext);
            plaintext[0] = 0x00; // not an MP3 frame sync: plain binary data, which the format check lets through
            var source = Path.Combine(work, "random.mp3");
            await File.WriteAllBytesAsync(source, plaintext);
            var sid = "enc-" + Guid.NewGuid().ToString("N")[..10];
            var manifest = Path.Combine(work, "m.csv");
            await File.WriteAllTextAsync(manifest, $"sid,start,stop,calling_number,called_number,type,path,file_start,file_stop\n{sid},2026-11-20T10:00:00Z,2026-11-20T10:01:00Z,100,200,audio,{source},2026-11-20T10:00:00Z,2026-11-20T10:01:00Z\n");
            var (exit, _, error) = await Server.CliAsync("", ["import", manifest, .. Config]);
            Assert.True(exit == 0, error);
            await using var connection = await Server.Services.GetRequiredService<Database>().OpenAsync();
            var (id, path) = await connection.QuerySingleAsync<(long, string)>("SELECT c.id, f.path FROM couples c JOIN media_files f ON f.couple_id = c.id WHERE c.sid = @sid", new { sid });
            return (id, path, plaintext);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        File.Delete(KeyFile);
    }
}

public sealed class EncryptionTests(EncryptionFixture fixture) : IClassFixture<EncryptionFixture>
{
    private const int Chunk = EncryptionFixture.Chunk;

    private TestServer Server => fixture.Server;

    private string OnDisk(string path) => Server.Services.GetRequiredService<MediaRoot>().Resolve(path);

    private static async Task<HttpResponseMessage> GetAsync(HttpClient client, string session, string token, RangeHeaderValue? range = null, string ext = "mp3")
    {
        var request = CallRec.Send(session, token, ext);
        request.Headers.Range = range;
        return await client.SendAsync(request);
    }

    [Fact]
    public async Task Encrypt_StoredFiles_NoRunOfThePlaintextIsOnDisk()
    {
        Assert.NotEmpty(fixture.Plaintexts);
        foreach (var (path, plaintext) in fixture.Plaintexts)
        {
            var disk = await File.ReadAllBytesAsync(OnDisk(path));
            Assert.True(EncryptedFormat.IsEncrypted(disk), $"{path} is not encrypted");
            Assert.Equal(EncryptedFormat.StoredLength(plaintext.Length), disk.Length);
            for (var at = 0; at + 32 <= plaintext.Length; at += 4096)
            {
                Assert.True(disk.AsSpan().IndexOf(plaintext.AsSpan(at, 32)) < 0, $"{path}: plaintext at {at} appears on disk");
            }
        }
    }

    [Fact]
    public async Task Download_EncryptedFile_BodyLengthAndETagDescribeThePlaintext()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var path = fixture.Paths[1001].Single();
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001&action=download");
        using var response = await GetAsync(client, session, token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(fixture.Plaintexts[path], body);
        Assert.Equal(body.Length, response.Content.Headers.ContentLength);
        var crc = System.IO.Hashing.Crc32.HashToUInt32(body);
        Assert.Contains($"-{crc:x8}-{body.Length:x}\"", response.Headers.ETag!.Tag, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RangeReads_AtAndAcrossChunkBoundaries_EqualThePlaintextSlice()
    {
        var (id, path, plaintext) = await fixture.ImportRandomAsync((4 * Chunk) + 1000);
        Assert.True(EncryptedFormat.IsEncrypted(await File.ReadAllBytesAsync(OnDisk(path))), "an import with encryption on is stored encrypted");

        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, $"id_call[]={id}");
        (long From, long To)[] ranges = [(0, 0), (Chunk - 1, Chunk), (Chunk, (2 * Chunk) - 1), (Chunk - 10, (3 * Chunk) + 10), (2 * Chunk, 2 * Chunk), (plaintext.Length - 1, plaintext.Length - 1), ((4 * Chunk) - 1, plaintext.Length - 1)];
        foreach (var (from, to) in ranges)
        {
            using var response = await GetAsync(client, session, token, new RangeHeaderValue(from, to));
            Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
            Assert.Equal(plaintext.Length, response.Content.Headers.ContentRange!.Length);
            Assert.Equal(plaintext.AsSpan((int)from, (int)(to - from + 1)).ToArray(), await response.Content.ReadAsByteArrayAsync());
        }
    }

    [Fact]
    public async Task Zip_OfEncryptedFiles_UnzipsToThePlaintexts()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001,1002,1003,1021&action=download");
        using var response = await GetAsync(client, session, token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(response.Content.Headers.ContentLength, bytes.Length);
        using var zip = new ZipArchive(new MemoryStream(bytes));
        var media = zip.Entries.Where(e => e.Name is not ("calldata.txt" or "calldata.json")).ToList();
        Assert.Equal(4, media.Count);
        foreach (var entry in media)
        {
            var couple = long.Parse(entry.Name[..4], System.Globalization.CultureInfo.InvariantCulture);
            using var content = new MemoryStream();
            await using (var s = entry.Open())
            {
                await s.CopyToAsync(content); // checks the entry's CRC-32 against the plaintext
            }

            Assert.Equal(fixture.Plaintexts[fixture.Paths[couple].Single()], content.ToArray());
        }
    }

    [Fact]
    public async Task Transcode_FromEncryptedWav_StreamsMp3AndCachesItEncrypted()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1022");
        using var response = await GetAsync(client, session, token, new RangeHeaderValue(0, null));
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        var mp3 = await response.Content.ReadAsByteArrayAsync();
        Assert.Contains("Info", System.Text.Encoding.Latin1.GetString(mp3, 0, 400), StringComparison.Ordinal);

        var cache = Path.Combine(Server.Services.GetRequiredService<MediaRoot>().CacheDir, "mp3");
        var cached = Directory.GetFiles(cache, "*.mp3").Select(File.ReadAllBytes).ToList();
        Assert.NotEmpty(cached);
        Assert.All(cached, c => Assert.True(EncryptedFormat.IsEncrypted(c)));
        Assert.Contains(cached, c => c.Length == EncryptedFormat.StoredLength(mp3.Length));
        AssertNoPlaintextTemps();
    }

    [Fact]
    public async Task Prepare_FromEncryptedCaptureAndAudio_StoresTheVideoEncrypted()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var prepare = await CallRec.RequireTokenAsync(client, session, "id_call[]=1025&type=16&action=prepare");
        using var prepared = await client.SendAsync(CallRec.Send(session, prepare, "mp4"));
        var reply = await prepared.Content.ReadAsStringAsync();
        Assert.True(prepared.StatusCode == HttpStatusCode.OK, reply);
        var videoToken = Regex.Match(reply, "<reply>([A-Za-z0-9]{20})</reply>").Groups[1].Value;
        using var video = await GetAsync(client, session, videoToken, null, "mp4");
        var mp4 = await video.Content.ReadAsByteArrayAsync();
        Assert.Equal("ftyp", System.Text.Encoding.ASCII.GetString(mp4, 4, 4));

        await using var connection = await Server.Services.GetRequiredService<Database>().OpenAsync();
        var (path, size, crc) = await connection.QuerySingleAsync<(string, long, long)>("SELECT path, size, crc32 FROM media_files WHERE couple_id = 1025 AND type = 16");
        Assert.Equal(mp4.Length, size);
        Assert.Equal(System.IO.Hashing.Crc32.HashToUInt32(mp4), (uint)crc);
        Assert.True(EncryptedFormat.IsEncrypted(await File.ReadAllBytesAsync(OnDisk(path))));
        AssertNoPlaintextTemps();
    }

    [Fact]
    public async Task FlippedByteOnDisk_AbortsTheTransfer_LogsAndAudits()
    {
        var (id, path, plaintext) = await fixture.ImportRandomAsync(6 * Chunk);
        await using (var file = new FileStream(OnDisk(path), FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = EncryptedFormat.HeaderSize + (3L * (Chunk + EncryptedFormat.TagSize)) + 100; // in chunk 3
            var b = file.ReadByte();
            file.Position--;
            file.WriteByte((byte)(b ^ 0x40));
        }

        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, $"id_call[]={id}");
        byte[]? body = null;
        try
        {
            using var response = await client.SendAsync(CallRec.Send(session, token), HttpCompletionOption.ResponseHeadersRead);
            body = await response.Content.ReadAsByteArrayAsync();
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            // The connection was cut mid-body: what a client must see.
        }

        Assert.True(body is null || body.Length < plaintext.Length, "a tampered file must not be delivered whole");
        Assert.True(body is null || body.AsSpan().SequenceEqual(plaintext.AsSpan(0, body.Length)), "whatever was sent is authentic plaintext");
        await Server.FlushAuditAsync();
        await using var connection = await Server.Services.GetRequiredService<Database>().OpenAsync();
        var outcomes = (await connection.QueryAsync<string>("SELECT outcome FROM audit WHERE couple_ids = @ids ORDER BY seq", new { ids = id.ToString(System.Globalization.CultureInfo.InvariantCulture) })).ToList();
        Assert.Contains("media-tampered", outcomes);
        Assert.Contains("200-incomplete", outcomes);
        Assert.Contains(LogSink.Shared.Lines, l => l.Contains("failed authentication", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RotateKey_NewMasterKey_EveryFileStillReadsAndTheOldKeyRetires()
    {
        var oldId = Server.Services.GetRequiredService<LocalMediaStorage>().Keys.Current!.Id;
        var (exit, output, error) = await Server.CliAsync("", ["storage", "rotate-key", "--new-key", .. fixture.Config]);
        Assert.True(exit == 0, error);
        Assert.Contains($"no file uses {oldId} any more", output, StringComparison.Ordinal);

        // Run again: nothing left to do (resumable).
        (exit, output, error) = await Server.CliAsync("", ["storage", "rotate-key", .. fixture.Config]);
        Assert.True(exit == 0, error);
        Assert.Contains(" 0 re-wrapped", output, StringComparison.Ordinal);

        (exit, output, error) = await Server.CliAsync("", ["storage", "retire-keys", .. fixture.Config]);
        Assert.True(exit == 0, error);
        Assert.Contains($"removed {oldId}", output, StringComparison.Ordinal);
        Assert.Single(File.ReadAllLines(fixture.KeyFile), l => l.Length > 0);

        // Every file reads with the new key only: one zip of every couple's audio, and the videos.
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var ids = string.Join(',', fixture.Paths.Select(g => g.Key));
        var token = await CallRec.RequireTokenAsync(client, session, $"id_call[]={ids}&action=download");
        using var response = await GetAsync(client, session, token);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        using var zip = new ZipArchive(new MemoryStream(bytes));
        foreach (var entry in zip.Entries)
        {
            await using var s = entry.Open();
            await s.CopyToAsync(Stream.Null); // CRC-checked against the plaintext's
        }

        Assert.Contains(zip.Entries, e => e.Name.StartsWith("1001_", StringComparison.Ordinal));
        foreach (var path in fixture.Plaintexts.Keys)
        {
            Assert.Equal(fixture.Plaintexts[path], await ReadThroughStorageAsync(path));
        }
    }

    [Fact]
    public async Task Start_EncryptedFilesWithoutOrWithAWrongMasterKey_RefusesClearly()
    {
        var none = await Assert.ThrowsAsync<OptionsValidationException>(() => TestServer.StartOnAsync(Server.DataDir, Server.DatabaseArgs));
        Assert.Contains("media files are encrypted", none.Message, StringComparison.Ordinal);
        Assert.Contains("no master key", none.Message, StringComparison.Ordinal);

        var wrong = Path.Combine(Path.GetTempPath(), "callmedia-wrong-" + Guid.NewGuid().ToString("N"));
        using (var file = PrivateFile.Create(wrong))
        using (var writer = new StreamWriter(file))
        {
            await writer.WriteLineAsync(MasterKeys.NewKeyLine());
        }

        try
        {
            var mismatch = await Assert.ThrowsAsync<OptionsValidationException>(() => TestServer.StartOnAsync(Server.DataDir, Server.DatabaseArgs, "Storage:Encryption=on", $"Storage:KeyFile={wrong}"));
            Assert.Contains("not among the configured keys", mismatch.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(wrong);
        }
    }

    [Fact]
    public async Task Start_EncryptionOnWithoutKey_RefusesClearly()
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => TestServer.StartAsync("Storage:Encryption=on"));
        Assert.Contains("Storage:Encryption is on but no master key is configured", ex.Message, StringComparison.Ordinal);
    }

    private async Task<byte[]> ReadThroughStorageAsync(string path)
    {
        await using var stream = Server.Services.GetRequiredService<IMediaStorage>().OpenRead(path);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    private void AssertNoPlaintextTemps()
    {
        var temp = Server.Services.GetRequiredService<MediaRoot>().TempDir;
        Assert.Empty(Directory.Exists(temp) ? Directory.GetFiles(temp, "*.plain.*") : []);
    }
}
