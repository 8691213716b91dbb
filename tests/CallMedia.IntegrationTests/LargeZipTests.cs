using System.IO.Hashing;
using System.Net;
using CallMedia.Calls;
using CallMedia.IntegrationTests.Infrastructure;

namespace CallMedia.IntegrationTests;

/// <summary>Archives at the Zip64 limits, downloaded over HTTP and verified by unzip, 7z and Python's zipfile.</summary>
public sealed class LargeZipTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    [Fact]
    public async Task Zip_OneEntry_VerifiesInEveryTool()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1028,1025&type=16&action=download");
        await DownloadAndVerifyAsync(client, session, token, expectedEntries: 3);
    }

    [Fact]
    public async Task Zip_70000Entries_UsesZip64AndVerifiesInEveryTool()
    {
        var work = Directory.CreateTempSubdirectory("callmedia-many-").FullName;
        try
        {
            var files = Enumerable.Range(0, 7).Select(i =>
            {
                var path = Path.Combine(work, $"leg{i}.mp3");
                File.WriteAllText(path, $"tiny recording {i}\n");
                return TestData.FileOf(MediaType.Audio, path);
            }).ToList();
            var ids = await Server.SeedAsync(Enumerable.Range(0, 10_000).Select(_ => (IReadOnlyList<SeedFile>)files));

            using var client = Server.CreateClient();
            var session = await CallRec.LoginAsync(client);
            using var response = await client.PostAsync(
                $"/callrec/downloadtoken;jsessionid={session}",
                new FormUrlEncodedContent([new("id_call[]", string.Join(',', ids)), new("action", "download")]));
            var reply = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var token = reply[(reply.IndexOf("<reply>", StringComparison.Ordinal) + 7)..reply.IndexOf("</reply>", StringComparison.Ordinal)];
            await DownloadAndVerifyAsync(client, session, token, expectedEntries: 70_002);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task Zip_EntryPast4GiB_UsesZip64AndVerifiesInEveryTool()
    {
        var work = Directory.CreateTempSubdirectory("callmedia-huge-").FullName;
        try
        {
            // A sparse file: 4 GiB + 1 MiB of zeros costs no disk space, and a short audio file after it.
            var huge = Path.Combine(work, "huge.mp4");
            await using (var f = File.Create(huge))
            {
                f.SetLength((4L << 30) + (1 << 20));
            }

            var after = Path.Combine(work, "after.mp3");
            await File.WriteAllTextAsync(after, "after the huge one\n");
            var ids = await Server.SeedAsync([[HugeZeroFile(huge)], [TestData.FileOf(MediaType.Audio, after)]]);

            using var client = Server.CreateClient();
            var session = await CallRec.LoginAsync(client);
            var token = await CallRec.RequireTokenAsync(client, session, $"id_call[]={ids[0]},{ids[1]}&action=download");
            await DownloadAndVerifyAsync(client, session, token, expectedEntries: 4);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static SeedFile HugeZeroFile(string path)
    {
        var length = new FileInfo(path).Length;
        var crc = new Crc32();
        var zeros = new byte[1 << 20];
        for (long done = 0; done < length; done += zeros.Length)
        {
            crc.Append(zeros.AsSpan(0, (int)Math.Min(zeros.Length, length - done)));
        }

        return new SeedFile(MediaType.Audio, path, "mp4", length, crc.GetCurrentHashAsUInt32());
    }

    private static async Task DownloadAndVerifyAsync(HttpClient client, string session, string token, int expectedEntries)
    {
        var work = Directory.CreateTempSubdirectory("callmedia-zip-").FullName;
        var zipPath = Path.Combine(work, "calldata.zip");
        try
        {
            using (var response = await client.SendAsync(CallRec.Send(session, token, "zip"), HttpCompletionOption.ResponseHeadersRead))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                await using var file = File.Create(zipPath);
                await response.Content.CopyToAsync(file);
                Assert.Equal(response.Content.Headers.ContentLength, file.Length);
            }

            await Tool.RequireAsync("unzip", "-tqq", zipPath);
            await Tool.RequireAsync("7z", "t", "-bd", zipPath);
            var python = await Tool.RequireAsync(
                "python3", "-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(z.testzip()); print(len(z.infolist()))", zipPath);
            Assert.Equal($"None\n{expectedEntries}\n", python);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
