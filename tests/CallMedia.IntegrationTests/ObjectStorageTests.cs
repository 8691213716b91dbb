using System.Diagnostics;
using System.IO.Hashing;
using System.Net;
using System.Net.Http.Headers;
using CallMedia.App;
using CallMedia.Audit;
using CallMedia.Data;
using CallMedia.IntegrationTests.Infrastructure;
using CallMedia.Storage;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CallMedia.IntegrationTests;

/// <summary>
/// Media in a real S3 store (the Ceph RADOS Gateway of scripts/s3.sh): what the shared delivery tests do not reach —
/// start-up checks, multipart uploads, seekable ranged reads, the input cache, and the store going away mid-transfer
/// and coming back. Run when CALLMEDIA_TEST_STORAGE=s3 (scripts/test.sh's third configuration).
/// </summary>
public sealed class ObjectStorageTests
{
    [SkippableFact]
    public async Task Start_WrongSecretKey_RefusesNamingTheSetting()
    {
        Skip.IfNot(TestStorage.IsS3, "needs the S3 store (CALLMEDIA_TEST_STORAGE=s3)");
        var (dataDir, args) = await TestDatabase.NewAsync();
        try
        {
            var wrong = args.Select(a => a.StartsWith("--Storage:S3:SecretKey=", StringComparison.Ordinal) ? "--Storage:S3:SecretKey=wrong" + Guid.NewGuid().ToString("N") : a).ToArray();
            var error = await StartFailsAsync(wrong);
            Assert.Contains("Storage:S3:AccessKey / Storage:S3:SecretKey", error, StringComparison.Ordinal);
            Assert.DoesNotContain("wrong", error, StringComparison.Ordinal); // the secret is not echoed
        }
        finally
        {
            await DropAsync(dataDir, args);
        }
    }

    [SkippableFact]
    public async Task Start_MissingBucketOrEncryption_RefusesNamingTheSetting()
    {
        Skip.IfNot(TestStorage.IsS3, "needs the S3 store (CALLMEDIA_TEST_STORAGE=s3)");
        var (dataDir, args) = await TestDatabase.NewAsync();
        try
        {
            var missing = args.Select(a => a.StartsWith("--Storage:S3:Bucket=", StringComparison.Ordinal) ? "--Storage:S3:Bucket=no-such-bucket-here" : a).ToArray();
            Assert.Contains("Storage:S3:Bucket: the bucket 'no-such-bucket-here' does not exist", await StartFailsAsync(missing), StringComparison.Ordinal);

            var key = Path.Combine(dataDir, "..", "key-" + Guid.NewGuid().ToString("N"));
            Assert.Contains("Storage:Encryption=on works with the local media folder only", await StartFailsAsync([.. args, "--Storage:Encryption=on", $"--Storage:KeyFile={key}"]), StringComparison.Ordinal);
        }
        finally
        {
            await DropAsync(dataDir, args);
        }
    }

    [SkippableFact]
    public async Task StoreAndOpenRead_LargeObject_MultipartCrcAndRandomSeeksMatchTheFile()
    {
        Skip.IfNot(TestStorage.IsS3, "needs the S3 store (CALLMEDIA_TEST_STORAGE=s3)");
        await using var server = await TestServer.StartAsync("Storage:S3:PartSizeMiB=5", "Storage:S3:ReadBlockMiB=1");
        var storage = server.Services.GetRequiredService<IMediaStorage>();
        Assert.IsType<S3MediaStorage>(storage);
        var (file, bytes, crc) = await RandomFileAsync((23 << 20) + 12345);
        try
        {
            var stored = await storage.StoreAsync(file, "big/one.bin", CancellationToken.None);
            Assert.Equal((bytes.LongLength, crc), stored); // five parts, the CRC computed on the way
            Assert.Equal(bytes.LongLength, storage.Stat("big/one.bin")!.Length);
            Assert.Null(storage.PlainLocalPath("big/one.bin"));
            Assert.Equal(stored, await storage.HashAsync("big/one.bin", CancellationToken.None));

            await using var stream = storage.OpenRead("big/one.bin");
            Assert.Equal(bytes.LongLength, stream.Length);
            var random = new Random(7);
            var buffer = new byte[300_000];
            for (var i = 0; i < 40; i++)
            {
                var at = i % 5 == 4 ? stream.Position + random.Next(0, 100_000) : random.NextInt64(0, bytes.LongLength);
                stream.Position = at;
                var read = i % 2 == 0 ? await stream.ReadAsync(buffer) : stream.Read(buffer, 0, buffer.Length);
                Assert.Equal(Math.Min(buffer.Length, Math.Max(0, bytes.LongLength - at)) > 0, read > 0);
                Assert.True(buffer.AsSpan(0, read).SequenceEqual(bytes.AsSpan((int)at, read)), $"bytes at {at}");
            }

            stream.Position = 0;
            using var all = new MemoryStream();
            await stream.CopyToAsync(all);
            Assert.True(all.ToArray().AsSpan().SequenceEqual(bytes));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [SkippableFact]
    public async Task OpenLocalInput_CacheOverItsLimit_DropsTheLeastRecentlyUsedNotInUse()
    {
        Skip.IfNot(TestStorage.IsS3, "needs the S3 store (CALLMEDIA_TEST_STORAGE=s3)");
        await using var server = await TestServer.StartAsync("Storage:S3:InputCacheMiB=5");
        var storage = server.Services.GetRequiredService<IMediaStorage>();
        var cache = server.Services.GetRequiredService<S3InputCache>();
        var (file, bytes, _) = await RandomFileAsync(2 << 20);
        try
        {
            foreach (var name in (string[])["a", "b", "c"])
            {
                await storage.StoreAsync(file, $"in/{name}.wav", CancellationToken.None);
            }

            var a = await storage.OpenLocalInputAsync("in/a.wav", "wav", CancellationToken.None);
            Assert.Equal(bytes, await File.ReadAllBytesAsync(a.Path));
            await using (var b = await storage.OpenLocalInputAsync("in/b.wav", "wav", CancellationToken.None))
            {
                Assert.NotEqual(a.Path, b.Path);
            }

            // c makes 6 MiB: b (not in use) goes, a (in use, though older) stays.
            await using (var c = await storage.OpenLocalInputAsync("in/c.wav", "wav", CancellationToken.None))
            {
                Assert.True(File.Exists(a.Path));
                Assert.Equal(4L << 20, cache.Size);
            }

            var again = await storage.OpenLocalInputAsync("in/a.wav", "wav", CancellationToken.None);
            Assert.Equal(a.Path, again.Path); // a hit: the same copy, not fetched again
            await again.DisposeAsync();
            await a.DisposeAsync();
            Assert.InRange(cache.Size, 0, 5L << 20);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [SkippableFact]
    public async Task Migrate_LocalFolderToBucket_VerifiesEachObjectKeepsLocalFilesUntilVerifiedAndResumes()
    {
        Skip.IfNot(TestStorage.IsS3, "needs the S3 store (CALLMEDIA_TEST_STORAGE=s3)");
        var data = await DemoTemplate.CopyAsync();
        var empty = Directory.CreateTempSubdirectory("callmedia-empty-").FullName;
        string[] args = [$"--{CallMediaServices.DataKey}={data}", .. await TestStorage.NewAsync(empty)];
        try
        {
            List<(long Id, string Path, long Size, long Crc32)> rows;
            await using (var connection = await TestDatabase.Open(args).OpenAsync())
            {
                rows = (await connection.QueryAsync<(long, string, long, long)>("SELECT id, path, size, crc32 FROM media_files ORDER BY id")).ToList();
            }

            Assert.True(rows.Count > 10);
            var media = Path.Combine(data, "media");
            // One local file no longer as recorded (same size, one byte changed): it must not move, nor be deleted.
            var bad = rows[3];
            var badFile = Path.Combine(media, bad.Path);
            var original = await File.ReadAllBytesAsync(badFile);
            var changed = original.ToArray();
            changed[^1] ^= 0xFF;
            await File.WriteAllBytesAsync(badFile, changed);

            var (exit, output, error) = await CliAsync(args, "storage", "migrate", "--to", "s3", "--delete-local");
            Assert.Equal(1, exit);
            Assert.Contains($"{rows.Count - 1} moved, 0 already in the bucket", output, StringComparison.Ordinal);
            Assert.Contains($"media file {bad.Id}: the local file is not the recorded one", error, StringComparison.Ordinal);
            Assert.True(File.Exists(badFile));
            var keys = await TestStorage.ListAsync(data, args);
            Assert.DoesNotContain(bad.Path, keys);
            foreach (var row in rows.Where(r => r.Id != bad.Id))
            {
                Assert.False(File.Exists(Path.Combine(media, row.Path)), $"{row.Path} verified, so deleted locally");
                Assert.Equal((uint)row.Crc32, Crc32.HashToUInt32(await TestStorage.ReadAsync(data, args, row.Path)));
            }

            // Put right, a second run moves just that one: the verified ones are not uploaded again.
            await File.WriteAllBytesAsync(badFile, original);
            (exit, output, _) = await CliAsync(args, "storage", "migrate", "--to", "s3", "--delete-local");
            Assert.Equal(0, exit);
            Assert.Contains($"1 moved, {rows.Count - 1} already in the bucket", output, StringComparison.Ordinal);
            Assert.False(File.Exists(badFile));
            Assert.Equal(original, await TestStorage.ReadAsync(data, args, bad.Path));
        }
        finally
        {
            await TestStorage.DropAsync(args);
            Directory.Delete(data, recursive: true);
            Directory.Delete(empty, recursive: true);
        }
    }

    [SkippableFact]
    public async Task Download_ObjectReplacedMidTransfer_AbortsAuditedIncompleteNeverSplicesVersions()
    {
        Skip.IfNot(TestStorage.IsS3, "needs the S3 store (CALLMEDIA_TEST_STORAGE=s3)");
        await using var server = await TestServer.StartAsync("Storage:S3:ReadBlockMiB=1");
        var (id, bytes) = await StoredCallAsync(server, "big/replaced.mp4", 48 << 20);
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, $"id_call[]={id}&action=download");

        using var response = await client.SendAsync(CallRec.Send(session, token), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(bytes.LongLength, response.Content.Headers.ContentLength);
        await using var body = await response.Content.ReadAsStreamAsync();
        var received = new MemoryStream();
        var first = new byte[1 << 20];
        await body.ReadExactlyAsync(first);
        received.Write(first);

        // Another version of the same length replaces the object while the rest is still to be read.
        var other = bytes.ToArray();
        Array.Reverse(other);
        var bucket = server.Services.GetRequiredService<MediaBucket>();
        using (var replacement = new MemoryStream(other))
        {
            await bucket.Client.PutObjectAsync(new Amazon.S3.Model.PutObjectRequest { BucketName = bucket.Name, Key = "big/replaced.mp4", InputStream = replacement });
        }

        var ex = await Record.ExceptionAsync(async () => await body.CopyToAsync(received));
        Assert.True(ex is not null || received.Length < bytes.LongLength, "the transfer must break off, not end as if complete");
        Assert.True(received.ToArray().AsSpan().SequenceEqual(bytes.AsSpan(0, (int)received.Length)), "every byte received is of the version the transfer started with");

        var row = await LastRedemptionAsync(server);
        Assert.Equal("200-incomplete", row.Outcome);
        Assert.InRange(row.Bytes!.Value, 1 << 20, bytes.LongLength - 1);
    }

    [SkippableFact]
    public async Task Download_StoreHangs_503WithinTheTimeoutNotTheSdkRetries()
    {
        Skip.IfNot(TestStorage.IsS3, "needs the S3 store (CALLMEDIA_TEST_STORAGE=s3)");
        await using var proxy = new StallingProxy(new Uri(TestStorage.S3Options().ServiceUrl!));
        await using var server = await TestServer.StartAsync($"Storage:S3:ServiceUrl={proxy.Url}", "Storage:S3:TimeoutSeconds=2");
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1007&action=download");

        proxy.Stall();
        var waited = Stopwatch.StartNew();
        using (var response = await client.SendAsync(CallRec.Send(session, token)))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
        }

        // Each look at the object gives up after 2 s; the SDK's own timeout (30 s) and retries would take minutes.
        Assert.InRange(waited.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(12));
    }

    [SkippableFact]
    public async Task Download_RedirectDownloadsOn_RedeemsAuditsThenRedirectsToAPresignedUrl()
    {
        Skip.IfNot(TestStorage.IsS3, "needs the S3 store (CALLMEDIA_TEST_STORAGE=s3)");
        await using var server = await TestServer.StartAsync("Storage:S3:RedirectDownloads=true", "Storage:S3:RedirectSeconds=30");
        var (id, bytes) = await StoredCallAsync(server, "small/redirected.mp4", 300_000);
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, $"id_call[]={id}&action=download");

        using var response = await client.SendAsync(CallRec.Send(session, token));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var location = response.Headers.Location!;
        Assert.StartsWith(TestStorage.S3Options().ServiceUrl!, location.AbsoluteUri, StringComparison.Ordinal);
        var expires = System.Text.RegularExpressions.Regex.Match(location.Query, "X-Amz-Expires=([0-9]+)");
        // Short-lived: RedirectSeconds (30), not the default 60. The SDK counts from its own signing time (whole seconds,
        // corrected by any clock difference it measured against the store), so the figure can be off by a second or two:
        // 32 was seen once.
        Assert.InRange(int.Parse(expires.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 25, 35);

        using var store = new HttpClient();
        using var fetched = await store.GetAsync(location);
        Assert.Equal(HttpStatusCode.OK, fetched.StatusCode);
        Assert.Equal("attachment", fetched.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Equal(bytes, await fetched.Content.ReadAsByteArrayAsync());

        var row = await LastRedemptionAsync(server);
        Assert.Equal("302-redirect", row.Outcome);
        Assert.Null(row.Bytes); // the bytes went past CallMedia: not counted

        // The token is still single use; the URL, not the token, is what can be reused until it expires.
        using var again = await client.SendAsync(CallRec.Send(session, token));
        Assert.Equal(HttpStatusCode.Forbidden, again.StatusCode);
    }

    /// <summary>A call whose one audio file is a new object of random bytes, stored through the server's own storage.</summary>
    internal static async Task<(long Id, byte[] Bytes)> StoredCallAsync(TestServer server, string key, int size)
    {
        var (file, bytes, crc) = await RandomFileAsync(size);
        try
        {
            await server.Services.GetRequiredService<IMediaStorage>().StoreAsync(file, key, CancellationToken.None);
        }
        finally
        {
            File.Delete(file);
        }

        return ((await server.SeedAsync([[new SeedFile(CallMedia.Calls.MediaType.Audio, key, "mp4", bytes.LongLength, crc)]]))[0], bytes);
    }

    /// <summary>The audit record of the last redemption once its transfer has ended (no longer open).</summary>
    internal static async Task<AuditChain.AuditRow> LastRedemptionAsync(TestServer server)
    {
        var waited = Stopwatch.StartNew();
        AuditChain.AuditRow? row = null;
        while (row is null or { Outcome: AuditLog.Started } && waited.Elapsed < TimeSpan.FromSeconds(30))
        {
            await server.FlushAuditAsync();
            await using var connection = await server.Services.GetRequiredService<Database>().OpenAsync();
            row = (await connection.QueryAsync<AuditChain.AuditRow>("SELECT seq, at, user_name, client, action, couple_ids, bytes, outcome, prev_hash, hash FROM audit WHERE action = 'redeem' ORDER BY seq")).LastOrDefault();
            await Task.Delay(50);
        }

        return row ?? throw new InvalidOperationException("no redemption was audited");
    }

    private static async Task<(int Exit, string Out, string Error)> CliAsync(string[] config, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await CallMedia.Cli.CliApp.RunAsync([.. args, .. config], new CallMedia.Cli.CliConsole(new StringReader(""), output, error, false));
        return (exit, output.ToString(), error.ToString());
    }

    private static async Task<string> StartFailsAsync(string[] args)
    {
        await using var app = ServerHost.Build([.. args, "--urls=http://127.0.0.1:0"]);
        var ex = await Assert.ThrowsAnyAsync<OptionsValidationException>(() => app.StartAsync());
        return ex.Message;
    }

    private static async Task DropAsync(string dataDir, string[] args)
    {
        await TestDatabase.DropAsync(args);
        Directory.Delete(dataDir, recursive: true);
    }

    internal static async Task<(string Path, byte[] Bytes, uint Crc)> RandomFileAsync(int size)
    {
        var bytes = new byte[size];
        new Random(size).NextBytes(bytes);
        var path = Path.Combine(Path.GetTempPath(), "callmedia-s3-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllBytesAsync(path, bytes);
        return (path, bytes, Crc32.HashToUInt32(bytes));
    }
}

/// <summary>Stopping the object store would break every other test using it, so this collection runs alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ObjectStoreOutageCollection
{
    public const string Name = "object store outage";
}

[Collection(ObjectStoreOutageCollection.Name)]
public sealed class ObjectStorageOutageTests
{
    [SkippableFact]
    public async Task StoreGoesAwayMidTransferAndBack_AbortsAuditedIncomplete_503AndReadyzDown_ThenServesWithoutRestart()
    {
        Skip.IfNot(TestStorage.IsS3, "needs the S3 store (CALLMEDIA_TEST_STORAGE=s3)");
        await using var server = await TestServer.StartAsync();
        var (id, bytes) = await ObjectStorageTests.StoredCallAsync(server, "big/outage.mp4", 64 << 20);
        try
        {
            using var client = server.CreateClient();
            var session = await CallRec.LoginAsync(client);
            var first = await CallRec.RequireTokenAsync(client, session, $"id_call[]={id}&action=download");
            var second = await CallRec.RequireTokenAsync(client, session, $"id_call[]={id}&action=download");
            var third = await CallRec.RequireTokenAsync(client, session, $"id_call[]={id}&action=download");

            using (var response = await client.SendAsync(CallRec.Send(session, first), HttpCompletionOption.ResponseHeadersRead))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                await using var body = await response.Content.ReadAsStreamAsync();
                await body.ReadExactlyAsync(new byte[1 << 20]);
                await S3ShAsync("rgw-stop");
                var ex = await Record.ExceptionAsync(async () => await body.CopyToAsync(Stream.Null));
                Assert.NotNull(ex); // the transfer broke off: never a short body passed off as complete
            }

            var row = await ObjectStorageTests.LastRedemptionAsync(server);
            Assert.Equal("200-incomplete", row.Outcome);
            Assert.InRange(row.Bytes!.Value, 1 << 20, bytes.LongLength - 1);

            using (var ready = await client.GetAsync("/readyz"))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
                Assert.Contains("object store", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            using (var refused = await client.SendAsync(CallRec.Send(session, second)))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
                Assert.Equal(TimeSpan.FromSeconds(5), refused.Headers.RetryAfter?.Delta);
            }

            // Outside delivery planning too (the call's page looks whether each file is there): 503, not 500.
            using (var detail = await client.GetAsync($"/api/v1/calls/{id};jsessionid={session}"))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, detail.StatusCode);
                Assert.Equal(TimeSpan.FromSeconds(5), detail.Headers.RetryAfter?.Delta);
            }

            await S3ShAsync("rgw-start");
            using (var ready = await client.GetAsync("/readyz"))
            {
                Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            }

            using var again = await client.SendAsync(CallRec.Send(session, third));
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
            Assert.True((await again.Content.ReadAsByteArrayAsync()).AsSpan().SequenceEqual(bytes));
        }
        finally
        {
            await S3ShAsync("rgw-start"); // never leave the shared store down for the tests after this one
        }
    }

    private static async Task S3ShAsync(string command)
    {
        var dir = Environment.GetEnvironmentVariable("CALLMEDIA_TEST_S3_DIR") ?? throw new InvalidOperationException("CALLMEDIA_TEST_S3_DIR is not set");
        var script = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(script, "scripts", "s3.sh")))
        {
            script = Path.GetDirectoryName(script.TrimEnd(Path.DirectorySeparatorChar)) ?? throw new InvalidOperationException("scripts/s3.sh not found above the test folder");
        }

        await Tool.RequireAsync("bash", Path.Combine(script, "scripts", "s3.sh"), command, dir);
    }
}
