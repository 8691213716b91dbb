using System.IO.Compression;
using System.IO.Hashing;
using CallMedia.Calls;
using CallMedia.IntegrationTests.Infrastructure;
using CallMedia.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace CallMedia.IntegrationTests;

/// <summary>The original product's documented curl session, replayed with the real curl, then checked with real unzip tools.</summary>
public sealed class CurlFlowTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    [Fact]
    public async Task CurlFlow_SeedCommandsVerbatim_DownloadZipThatUnzipPythonAnd7zVerify()
    {
        var work = Directory.CreateTempSubdirectory("callmedia-curl-").FullName;
        try
        {
            var server = Server.BaseAddress.ToString().TrimEnd('/');
            var login = await Curl(work, "-s", "-c", "cookies.txt", "-X", "POST", "-d", "loginname=demo&password=demo", $"{server}/callrec/loginservlet");
            Assert.Contains("Access is authorized.", login, StringComparison.Ordinal);

            var reply = await Curl(work, "-s", "-b", "cookies.txt", "-c", "cookies.txt", "-X", "POST", "-d", "id_call[]=1001,1002&id_call[]=1021&action=download", $"{server}/callrec/downloadtoken");
            var token = reply[(reply.IndexOf("<reply>", StringComparison.Ordinal) + 7)..reply.IndexOf("</reply>", StringComparison.Ordinal)];

            // Verbatim from the service description, server name aside.
            var verbose = await CurlStderr(
                work, "-v", "-b", "cookies.txt", "-c", "cookies.txt", "-X", "POST", "-d", $"token={token}",
                "-HContent-Type: application/x-www-form-urlencoded", "-HAccept: application/octet-stream",
                "-o", "file.zip", $"{server}/callrec/sendcallfile.mp3");
            Assert.Contains("< HTTP/1.1 200 OK", verbose, StringComparison.Ordinal);
            Assert.Contains("< Content-Disposition: attachment; filename=calldata.zip", verbose, StringComparison.Ordinal);

            var zipPath = Path.Combine(work, "file.zip");
            await Tool.RequireAsync("unzip", "-t", zipPath);
            var python = await Tool.RequireAsync("python3", "-c", $"import zipfile; z = zipfile.ZipFile('{zipPath}'); print(z.testzip()); print(len(z.namelist()))");
            Assert.Equal("None\n5\n", python);
            if (File.Exists("/usr/bin/7z"))
            {
                await Tool.RequireAsync("7z", "t", zipPath);
            }

            using var zip = ZipFile.OpenRead(zipPath);
            Assert.Equal("calldata.txt", zip.Entries[0].FullName);
            using var manifestReader = new StreamReader(zip.Entries[0].Open());
            var rows = (await manifestReader.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal("couple_id\tsid\tstart_utc\tstop_utc\tcalling_number\tcalling_name\tcalled_number\tcalled_name\ttype\tentry\tsize\tcrc32\tstatus", rows[0]);
            Assert.Equal(4, rows.Length);

            var calls = Server.Services.GetRequiredService<CallStore>();
            var media = Server.Services.GetRequiredService<MediaRoot>();
            var files = await calls.GetFilesAsync([1001, 1002, 1021]);
            foreach (var row in rows.Skip(1).Select(r => r.Split('\t')))
            {
                Assert.Equal("ok", row[12]);
                var stored = files[long.Parse(row[0], System.Globalization.CultureInfo.InvariantCulture)].Single();
                var entry = zip.GetEntry(row[9])!;
                using var data = new MemoryStream();
                await using (var s = entry.Open())
                {
                    await s.CopyToAsync(data);
                }

                Assert.Equal(await File.ReadAllBytesAsync(media.Resolve(stored.Path)), data.ToArray());
                Assert.Equal(stored.Crc32.ToString("x8", System.Globalization.CultureInfo.InvariantCulture), row[11]);
                Assert.Equal(Crc32.HashToUInt32(data.ToArray()), (uint)stored.Crc32);
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task CurlFlow_ReusedToken_Gets403()
    {
        var work = Directory.CreateTempSubdirectory("callmedia-curl-").FullName;
        try
        {
            var server = Server.BaseAddress.ToString().TrimEnd('/');
            await Curl(work, "-s", "-c", "cookies.txt", "-d", "loginname=demo&password=demo", $"{server}/callrec/loginservlet");
            var reply = await Curl(work, "-s", "-b", "cookies.txt", "-d", "id_call[]=1001&action=download", $"{server}/callrec/downloadtoken");
            var token = reply[(reply.IndexOf("<reply>", StringComparison.Ordinal) + 7)..reply.IndexOf("</reply>", StringComparison.Ordinal)];
            var first = await Curl(work, "-s", "-o", "/dev/null", "-w", "%{http_code}", "-b", "cookies.txt", "-d", $"token={token}", $"{server}/callrec/sendcallfile.mp3");
            var second = await Curl(work, "-s", "-o", "/dev/null", "-w", "%{http_code}", "-b", "cookies.txt", "-d", $"token={token}", $"{server}/callrec/sendcallfile.mp3");
            Assert.Equal("200", first);
            Assert.Equal("403", second);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static async Task<string> Curl(string work, params string[] args)
    {
        var (exit, output, error) = await Tool.RunAsync("curl", args, work);
        Assert.True(exit == 0, $"curl failed ({exit}): {error}");
        return output;
    }

    private static async Task<string> CurlStderr(string work, params string[] args)
    {
        var (exit, _, error) = await Tool.RunAsync("curl", args, work);
        Assert.True(exit == 0, $"curl failed ({exit}): {error}");
        return error;
    }
}
