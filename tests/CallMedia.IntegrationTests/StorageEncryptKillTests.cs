using System.Diagnostics;
using System.Globalization;
using CallMedia.Data;
using CallMedia.IntegrationTests.Infrastructure;
using CallMedia.Storage;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace CallMedia.IntegrationTests;

/// <summary><c>callmedia storage encrypt</c> killed with SIGKILL half-way through the media folder, then run again.</summary>
public sealed class StorageEncryptKillTests
{
    private const int Files = 24;
    private const int FileSize = 8 << 20;

    [Fact]
    public async Task Encrypt_KilledHalfWay_NoFileHalfConverted_RerunEncryptsTheRestAndAllReadBack()
    {
        var keyFile = Path.Combine(Path.GetTempPath(), "callmedia-key-" + Guid.NewGuid().ToString("N"));
        var work = Directory.CreateTempSubdirectory("callmedia-encrypt-kill-").FullName;
        try
        {
            using (var file = PrivateFile.Create(keyFile))
            using (var writer = new StreamWriter(file))
            {
                await writer.WriteLineAsync(MasterKeys.NewKeyLine());
            }

            await using var server = await TestServer.StartAsync();
            var media = server.Services.GetRequiredService<MediaRoot>();
            await ImportRandomAsync(server, work);
            Dictionary<string, byte[]> plaintexts = [];
            await using (var connection = await server.Services.GetRequiredService<Database>().OpenAsync())
            {
                foreach (var path in await connection.QueryAsync<string>("SELECT path FROM media_files"))
                {
                    plaintexts[path] = await File.ReadAllBytesAsync(media.Resolve(path));
                }
            }

            string[] config = ["--Storage:Encryption=on", $"--Storage:KeyFile={keyFile}"];
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in (string[])[typeof(CallMedia.Cli.CliApp).Assembly.Location, "storage", "encrypt", .. server.DatabaseArgs, .. config])
            {
                start.ArgumentList.Add(a);
            }

            using (var process = Process.Start(start)!)
            {
                // Killed once a few files are converted and the next one is being written. The process is frozen
                // first (SIGSTOP) and killed only if a half-written file is still there then: a file can finish and be
                // renamed between a look and a kill, and the kill must land in the middle of one.
                var deadline = Stopwatch.StartNew();
                while (!process.HasExited && deadline.Elapsed < TimeSpan.FromMinutes(2))
                {
                    if (EncryptedCount(plaintexts.Keys.Select(media.Resolve)) >= 3 && HasHalfWrittenPart(media))
                    {
                        await Tool.RequireAsync("kill", "-STOP", process.Id.ToString(CultureInfo.InvariantCulture));
                        if (HasHalfWrittenPart(media))
                        {
                            break;
                        }

                        await Tool.RequireAsync("kill", "-CONT", process.Id.ToString(CultureInfo.InvariantCulture));
                    }

                    await Task.Delay(5);
                }

                Assert.False(process.HasExited, "storage encrypt finished before it could be interrupted");
                process.Kill(entireProcessTree: true); // SIGKILL (frozen or not): no finally block runs, the temp file stays.
                await process.WaitForExitAsync();
            }

            // Every file is its plaintext or a complete encrypted file of it: nothing in between.
            var storage = new LocalMediaStorage(media, new StorageOptions { Encryption = "on", KeyFile = keyFile }, MasterKeys.Load(new StorageOptions { KeyFile = keyFile }, media));
            var half = EncryptedCount(plaintexts.Keys.Select(media.Resolve));
            Assert.InRange(half, 3, plaintexts.Count - 1);
            foreach (var (path, plaintext) in plaintexts)
            {
                Assert.Equal(plaintext, await ReadAsync(storage, path));
            }

            var (exit, output, error) = await server.CliAsync("", ["storage", "encrypt", .. config]);
            Assert.True(exit == 0, error);
            Assert.Contains($"storage encrypt: {plaintexts.Count - half} encrypted, {half} already encrypted", output, StringComparison.Ordinal);
            Assert.Equal(plaintexts.Count, EncryptedCount(plaintexts.Keys.Select(media.Resolve)));
            foreach (var (path, plaintext) in plaintexts)
            {
                Assert.Equal(plaintext, await ReadAsync(storage, path));
            }

            // The killed run's half-written file is a temp file the leftover sweep removes once it is old enough.
            var parts = PartFiles(media).ToList();
            Assert.NotEmpty(parts);
            foreach (var part in parts)
            {
                part.LastWriteTimeUtc = part.LastWriteTimeUtc - MediaRoot.LeftoverAge - TimeSpan.FromMinutes(1);
            }

            Assert.Equal(parts.Count, media.RemoveLeftovers());
            Assert.Empty(PartFiles(media));
        }
        finally
        {
            File.Delete(keyFile);
            Directory.Delete(work, recursive: true);
        }
    }

    private static async Task ImportRandomAsync(TestServer server, string work)
    {
        var manifest = new List<string> { "sid,start,stop,calling_number,called_number,type,path" };
        var random = new Random(Files);
        for (var i = 0; i < Files; i++)
        {
            var bytes = new byte[FileSize];
            random.NextBytes(bytes);
            bytes[0] = 0x00; // not an MP3 frame sync: plain binary data, which the format check lets through
            var source = Path.Combine(work, $"r{i}.mp3");
            await File.WriteAllBytesAsync(source, bytes);
            manifest.Add($"kill-{Guid.NewGuid():N},2026-11-20T10:00:00Z,2026-11-20T10:01:00Z,100,200,audio,{source}");
        }

        await File.WriteAllLinesAsync(Path.Combine(work, "m.csv"), manifest);
        var (exit, _, error) = await server.CliAsync("", "import", Path.Combine(work, "m.csv"));
        Assert.True(exit == 0, error);
    }

    private static int EncryptedCount(IEnumerable<string> files) => files.Count(f =>
    {
        using var file = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var start = new byte[8];
        return file.Read(start) == start.Length && EncryptedFormat.IsEncrypted(start);
    });

    /// <summary>A non-empty temp file is there. The running process renames or removes its temp file whenever a file is
    /// done, so one listed can be gone when its length is read: that is "not there", not an error.</summary>
    private static bool HasHalfWrittenPart(MediaRoot media) => PartFiles(media).Any(f =>
    {
        try
        {
            return f.Length > 0;
        }
        catch (FileNotFoundException)
        {
            return false;
        }
    });

    private static IEnumerable<FileInfo> PartFiles(MediaRoot media) =>
        Directory.Exists(media.TempDir) ? new DirectoryInfo(media.TempDir).EnumerateFiles("*.part") : [];

    private static async Task<byte[]> ReadAsync(LocalMediaStorage storage, string path)
    {
        await using var stream = storage.OpenRead(path);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }
}
