using System.Diagnostics;
using System.Net;
using System.Text;
using CallMedia.Data;
using CallMedia.IntegrationTests.Infrastructure;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace CallMedia.IntegrationTests;

/// <summary><c>callmedia import</c> against the data folder of a running server.</summary>
public sealed class ImportTests(ServerFixture fixture) : IClassFixture<ServerFixture>, IDisposable
{
    private const string Header = "sid,start,stop,calling_number,called_number,type,path,calling_name,called_name\n";

    private readonly string _work = Directory.CreateTempSubdirectory("callmedia-import-").FullName;

    private TestServer Server => fixture.Server;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public async Task Import_EveryKindOfBadRow_IsReportedWithLineNumber_GoodCouplesGoIn()
    {
        var good = Recording("good.mp3", 3000);
        var other = Recording("other.mp3", 2000);
        var outside = Path.Combine(Path.GetTempPath(), $"outside-{Guid.NewGuid():N}.mp3");
        await File.WriteAllBytesAsync(outside, new byte[100]);
        var sid = Unique();
        var manifest = new StringBuilder(Header)
            .Append(Row(sid + "-ok", good, "Zoë Ærø")) // line 2
            .Append(Row(sid + "-missing", Path.Combine(_work, "nope.mp3"))) // line 3
            .Append($"{sid}-badtime,yesterday,2026-11-01T10:05:00Z,100,200,audio,{other},,\n") // line 4
            .Append(Row(sid + "-badtype", other).Replace(",audio,", ",sound,", StringComparison.Ordinal)) // line 5
            .Append(Row(sid + "-dup", other)) // line 6
            .Append(Row(sid + "-dup", other)) // line 7
            .Append(Row(sid + "-outside", outside)); // line 8
        var path = Path.Combine(_work, "manifest.csv");
        var bytes = Encoding.UTF8.GetBytes(manifest.ToString()).Concat(Encoding.UTF8.GetBytes($"{sid}-latin,2026-11-01T10:00:00Z,2026-11-01T10:05:00Z,100,200,audio,{other},")).Concat(new byte[] { 0xE9, 0x0A }).ToArray(); // line 9
        await File.WriteAllBytesAsync(path, bytes);

        try
        {
            var (exit, output, error) = await Server.CliAsync("", "import", path, $"--Import:AllowedRoots:0={_work}");

            Assert.Equal(1, exit);
            Assert.Contains("line 3: file not found", error, StringComparison.Ordinal);
            Assert.Contains("line 4: start or stop is not an ISO 8601 time", error, StringComparison.Ordinal);
            Assert.Contains("line 5: unknown type 'sound'", error, StringComparison.Ordinal);
            Assert.Contains("line 7: duplicate row", error, StringComparison.Ordinal);
            Assert.Contains("line 8: " + outside + " is outside the manifest's folder and Import:AllowedRoots", error, StringComparison.Ordinal);
            Assert.Contains("line 9: not valid UTF-8", error, StringComparison.Ordinal);
            Assert.Contains("import: added 1 couples", output, StringComparison.Ordinal);
            // missing, badtime, badtype, dup, outside: the couple of line 9 has no readable sid.
            Assert.Contains("; 5 rejected; ", output, StringComparison.Ordinal);
            Assert.Equal([sid + "-ok"], await SidsLikeAsync(sid));
        }
        finally
        {
            File.Delete(outside);
        }
    }

    [Fact]
    public async Task Import_SameManifestTwice_ChangesNothing_ChangedFileIsReported()
    {
        var sid = Unique();
        var a = Recording("a.mp3", 5000);
        var b = Recording("b.wav", 7000);
        var path = Manifest(Row(sid, a), Row(sid, b), Row(sid + "-2", Recording("c.mp3", 100)));

        var first = await Server.CliAsync("", "import", path);
        Assert.True(first.Exit == 0, first.Out + first.Error);
        var before = await SnapshotAsync();
        var (exit, output, err) = await Server.CliAsync("", "import", path);
        Assert.True(exit == 0, output + err);
        Assert.Contains("added 0 couples (+0 extended), 0 files", output, StringComparison.Ordinal);
        Assert.Equal(before, await SnapshotAsync());

        await File.AppendAllTextAsync(b, "edited");
        var (changedExit, _, error) = await Server.CliAsync("", "import", path);
        Assert.Equal(1, changedExit);
        Assert.Contains("line 3: " + b + " changed since it was imported; not overwritten", error, StringComparison.Ordinal);
        Assert.Equal(before, await SnapshotAsync());
    }

    [Fact]
    public async Task Import_NewRowForKnownSid_ExtendsTheCoupleAndOrsItsType()
    {
        var sid = Unique();
        var audio = Recording("leg.mp3", 1000);
        Assert.Equal(0, (await Server.CliAsync("", "import", Manifest(Row(sid, audio)))).Exit);
        var capture = Recording("screen.mkv", 2000);
        var (exit, output, error) = await Server.CliAsync("", "import", Manifest(Row(sid, audio), Row(sid, capture).Replace(",audio,", ",recd,", StringComparison.Ordinal)));
        Assert.True(exit == 0, error);
        Assert.Contains("(+1 extended), 1 files", output, StringComparison.Ordinal);
        await using var connection = await Server.Services.GetRequiredService<Database>().OpenAsync();
        Assert.Equal(1 | 32, await connection.ExecuteScalarAsync<long>("SELECT types FROM couples WHERE sid = @sid", new { sid }));
    }

    [Fact]
    public async Task Import_DryRun_ChangesNothing()
    {
        var before = await SnapshotAsync();
        var (exit, output, _) = await Server.CliAsync("", "import", Manifest(Row(Unique(), Recording("dry.mp3", 10))), "--dry-run");
        Assert.Equal(0, exit);
        Assert.Contains("would add 1 couples", output, StringComparison.Ordinal);
        Assert.Equal(before, await SnapshotAsync());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Import_ThenFetch_IsByteIdenticalToSource(bool link)
    {
        var sid = Unique();
        var source = Recording("fetch.mp3", 250_000);
        var (exit, _, error) = await Server.CliAsync("", link ? ["import", Manifest(Row(sid, source)), "--link", $"--Import:AllowedRoots:0={_work}"] : ["import", Manifest(Row(sid, source))]);
        Assert.True(exit == 0, error);

        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, $"sid={sid}&action=download");
        using var response = await client.SendAsync(CallRec.Send(session, token));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(await File.ReadAllBytesAsync(source), await response.Content.ReadAsByteArrayAsync());

        await using var connection = await Server.Services.GetRequiredService<Database>().OpenAsync();
        var stored = await connection.ExecuteScalarAsync<string>("SELECT f.path FROM media_files f JOIN couples c ON c.id = f.couple_id WHERE c.sid = @sid", new { sid });
        Assert.Equal(link, stored == source);
    }

    [Fact]
    public async Task Import_KilledMidway_RerunCompletesWithEveryFilePresentOnce()
    {
        var sid = Unique();
        var rows = new List<string>();
        for (var i = 0; i < 3000; i++)
        {
            rows.Add(Row($"{sid}-{i:0000}", Recording($"k{i}.mp3", 64 * 1024)));
        }

        var path = Manifest([.. rows]);
        var dll = typeof(CallMedia.Cli.CliApp).Assembly.Location;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])[dll, "import", path, .. Server.DatabaseArgs, "--Import:BatchSize=25"])
        {
            start.ArgumentList.Add(a);
        }

        using (var process = Process.Start(start)!)
        {
            // Kill it (SIGKILL) once some batches are committed and before it finishes.
            var deadline = Stopwatch.StartNew();
            long stored;
            do
            {
                await Task.Delay(20);
                stored = (await SidsLikeAsync(sid)).Count;
            }
            while (stored < 100 && !process.HasExited && deadline.Elapsed < TimeSpan.FromMinutes(2));

            Assert.False(process.HasExited, "the import finished before it could be interrupted");
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        var partial = (await SidsLikeAsync(sid)).Count;
        Assert.InRange(partial, 100, 2999);

        var (exit, output, error) = await Server.CliAsync("", "import", path);
        Assert.True(exit == 0, error);
        Assert.Contains($"added {3000 - partial} couples", output, StringComparison.Ordinal);
        await using var connection = await Server.Services.GetRequiredService<Database>().OpenAsync();
        var files = await connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM media_files f JOIN couples c ON c.id = f.couple_id WHERE c.sid LIKE @p", new { p = sid + "-%" });
        Assert.Equal(3000, (await SidsLikeAsync(sid)).Count);
        Assert.Equal(3000, files);
    }

    [Fact]
    public async Task Import_OnATerminal_RewritesOneProgressLine_OtherwisePrintsPlainLines()
    {
        var rows = Enumerable.Range(0, 50).Select(i => Row($"{Unique()}-{i}", Recording($"t{i}.mp3", 200_000))).ToArray();
        var path = Manifest(rows);
        var dll = typeof(CallMedia.Cli.CliApp).Assembly.Location;
        var command = string.Join(' ', ((string[])["dotnet", dll, "import", path, .. Server.DatabaseArgs]).Select(CallMedia.Media.Ffmpeg.ShellQuote));

        // `script` gives the command a pseudo-terminal, as an operator's shell would.
        var (exit, output, error) = await Tool.RunAsync("script", ["-qec", command, "/dev/null"]);
        Assert.True(exit == 0, output + error);
        Assert.Contains("\rimport: ", output, StringComparison.Ordinal);
        Assert.Matches(@"import: \d+/50 files, [\d.]+/[\d.]+ MB, [\d.]+ MB/s, ETA \d\d:\d\d:\d\d", output);
        Assert.Contains("import: added 50 couples", output, StringComparison.Ordinal);

        var (plainExit, plainOut, plainError) = await Server.CliAsync("", "import", Manifest(Row(Unique(), Recording("plain.mp3", 1000))));
        Assert.Equal(0, plainExit);
        Assert.DoesNotContain('\r', plainOut + plainError);
        Assert.Contains("import: 1/1 files", plainError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Import_PathsLeavingTheManifestFolder_AreRefusedWithLineNumbers_NothingOfThemIsStored()
    {
        var elsewhere = Directory.CreateTempSubdirectory("callmedia-elsewhere-").FullName;
        try
        {
            var outside = Path.Combine(elsewhere, "outside.mp3");
            await File.WriteAllBytesAsync(outside, new byte[1000]);
            File.CreateSymbolicLink(Path.Combine(_work, "escape.mp3"), outside);
            Directory.CreateSymbolicLink(Path.Combine(_work, "escapedir"), elsewhere);
            var climb = string.Concat(Enumerable.Repeat("../", 12)) + "etc/passwd";
            var sid = Unique();
            var path = Manifest(
                Row(sid + "-ok", Recording("ok.mp3", 1000)), // line 2
                Row(sid + "-climb", climb), // line 3
                Row(sid + "-abs", outside), // line 4
                Row(sid + "-link", "escape.mp3"), // line 5
                Row(sid + "-dirlink", Path.Combine(_work, "escapedir", "outside.mp3"))); // line 6

            var (exit, output, error) = await Server.CliAsync("", "import", path);

            Assert.Equal(1, exit);
            Assert.Contains($"line 3: {Path.GetFullPath(Path.Combine(_work, climb))} is outside the manifest's folder", error, StringComparison.Ordinal);
            Assert.Contains($"line 4: {outside} is outside the manifest's folder", error, StringComparison.Ordinal);
            Assert.Contains($"line 5: {Path.Combine(_work, "escape.mp3")} links outside the manifest's folder", error, StringComparison.Ordinal);
            Assert.Contains($"line 6: {Path.Combine(_work, "escapedir", "outside.mp3")} links outside the manifest's folder", error, StringComparison.Ordinal);
            Assert.Contains("import: added 1 couples", output, StringComparison.Ordinal);
            Assert.Equal([sid + "-ok"], await SidsLikeAsync(sid));

            // Over HTTP the refused couple does not exist: /etc/passwd cannot be downloaded through it.
            using var client = Server.CreateClient();
            var session = await CallRec.LoginAsync(client);
            Assert.Equal(HttpStatusCode.NotFound, (await CallRec.TokenAsync(client, session, $"sid={sid}-climb&action=download")).Status);
            Assert.Equal(HttpStatusCode.OK, (await CallRec.TokenAsync(client, session, $"sid={sid}-ok&action=download")).Status);
        }
        finally
        {
            Directory.Delete(elsewhere, recursive: true);
        }
    }

    [Fact]
    public async Task Import_FilesOfTheDataFolder_AreRefusedEvenInsideAllowedRoots()
    {
        var database = Path.Combine(Server.DataDir, "callmedia.db");
        var media = Path.Combine(Server.DataDir, "media");
        // A file of the media folder (with the media in a bucket, a stray one: the folder is refused all the same).
        var stored = Directory.EnumerateFiles(media, "*", SearchOption.AllDirectories).FirstOrDefault(f => !f.Contains("/.", StringComparison.Ordinal))
            ?? await WriteAsync(Path.Combine(media, "stray.mp3"));
        File.CreateSymbolicLink(Path.Combine(_work, "db.mp3"), database);
        var sid = Unique();
        var path = Manifest(
            Row(sid + "-ok", Recording("fine.mp3", 1000)), // line 2
            Row(sid + "-db", database), // line 3
            Row(sid + "-wal", database + "-wal"), // line 4
            Row(sid + "-media", stored), // line 5
            Row(sid + "-dblink", "db.mp3")); // line 6

        // The temp folder holds the data folder: allowing it must not open the data folder.
        var (exit, output, error) = await Server.CliAsync("", "import", path, $"--Import:AllowedRoots:0={Path.GetTempPath()}");

        Assert.Equal(1, exit);
        Assert.Contains($"line 3: {database} is in CallMedia's data folder", error, StringComparison.Ordinal);
        Assert.Contains($"line 4: {database}-wal is in CallMedia's data folder", error, StringComparison.Ordinal);
        Assert.Contains($"line 5: {stored} is in CallMedia's data folder", error, StringComparison.Ordinal);
        Assert.Contains($"line 6: {Path.Combine(_work, "db.mp3")} is in CallMedia's data folder", error, StringComparison.Ordinal);
        Assert.Contains("import: added 1 couples", output, StringComparison.Ordinal);
        Assert.Equal([sid + "-ok"], await SidsLikeAsync(sid));
    }

    [Fact]
    public async Task Import_ManifestWithABadHeader_FailsWithExitOneAndAddsNothing()
    {
        // The file is wrong, not the command line: exit 1, not the usage error's 2.
        var path = Path.Combine(_work, $"m-{Guid.NewGuid():N}.csv");
        await File.WriteAllTextAsync(path, "sid,start\nx,2026-11-16T08:00:00Z\n");
        var before = await SidsLikeAsync("x");
        var (exit, output, error) = await Server.CliAsync("", "import", path);
        Assert.Equal(1, exit);
        Assert.Equal("", output);
        Assert.StartsWith("callmedia: manifest header lacks", error, StringComparison.Ordinal);
        Assert.Equal(before, await SidsLikeAsync("x"));
    }

    [Fact]
    public async Task Import_LinkWithASymlinkLeavingAllowedRoots_IsRefused()
    {
        var elsewhere = Directory.CreateTempSubdirectory("callmedia-elsewhere-").FullName;
        try
        {
            var outside = Path.Combine(elsewhere, "outside.mp3");
            await File.WriteAllBytesAsync(outside, new byte[1000]);
            File.CreateSymbolicLink(Path.Combine(_work, "escape.mp3"), outside);
            var sid = Unique();
            var path = Manifest(Row(sid + "-ok", Recording("linked.mp3", 1000)), Row(sid + "-link", "escape.mp3"));

            var (withoutRoots, _, refusal) = await Server.CliAsync("", "import", path, "--link");
            Assert.Equal(2, withoutRoots);
            Assert.Contains("--link needs Import:AllowedRoots", refusal, StringComparison.Ordinal);

            var (exit, output, error) = await Server.CliAsync("", "import", path, "--link", $"--Import:AllowedRoots:0={_work}");
            Assert.Equal(1, exit);
            Assert.Contains($"line 3: {Path.Combine(_work, "escape.mp3")} links outside Import:AllowedRoots", error, StringComparison.Ordinal);
            Assert.Contains("import: added 1 couples", output, StringComparison.Ordinal);
            Assert.Equal([sid + "-ok"], await SidsLikeAsync(sid));
        }
        finally
        {
            Directory.Delete(elsewhere, recursive: true);
        }
    }

    [Fact]
    public async Task Import_StalePartFilesInTheMediaFolder_AreRemoved_LiveOnesAndRealFilesUntouched()
    {
        var media = Path.Combine(Server.DataDir, "media");
        var temp = Path.Combine(media, ".tmp");
        Directory.CreateDirectory(temp);
        var before = Directory.EnumerateFiles(media, "*", SearchOption.AllDirectories).Where(f => !f.StartsWith(temp, StringComparison.Ordinal)).ToDictionary(f => f, f => (new FileInfo(f).Length, File.GetLastWriteTimeUtc(f)));
        var stale = Path.Combine(temp, $"{Guid.NewGuid():N}.part");
        var live = Path.Combine(temp, $"{Guid.NewGuid():N}.part");
        var recent = Path.Combine(temp, $"{Guid.NewGuid():N}.part");
        foreach (var part in (string[])[stale, live, recent])
        {
            await File.WriteAllBytesAsync(part, new byte[4096]);
        }

        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow.AddHours(-1));
        File.SetLastWriteTimeUtc(live, DateTime.UtcNow.AddHours(-1));
        try
        {
            // An import still copying holds its .part open and locked.
            await using (new FileStream(live, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
            {
                var (exit, _, error) = await Server.CliAsync("", "import", Manifest(Row(Unique(), Recording("after.mp3", 1000))));
                Assert.True(exit == 0, error);
            }

            Assert.False(File.Exists(stale));
            Assert.True(File.Exists(live));
            Assert.True(File.Exists(recent));
            foreach (var (file, (length, written)) in before)
            {
                Assert.True(File.Exists(file), file);
                Assert.Equal((length, written), (new FileInfo(file).Length, File.GetLastWriteTimeUtc(file)));
            }
        }
        finally
        {
            File.Delete(live);
            File.Delete(recent);
        }
    }

    [Fact]
    public async Task Import_OverlongSidNumberOrName_IsRefusedWithLineNumber()
    {
        var sid = Unique();
        var file = Recording("long.mp3", 1000);
        var path = Manifest(
            FullRow(sid + "-max", file, new string('1', 128), "2001", new string('ñ', 200), new string('a', 200)), // line 2: at every limit
            FullRow(sid + new string('s', 200 - sid.Length + 1), file, "100", "2001", "", ""), // line 3
            FullRow(sid + "-calling", file, new string('1', 129), "2001", "", ""), // line 4
            FullRow(sid + "-called", file, "100", new string('2', 129), "", ""), // line 5
            FullRow(sid + "-cname", file, "100", "2001", new string('ñ', 201), ""), // line 6
            FullRow(sid + "-dname", file, "100", "2001", "", new string('b', 201)), // line 7
            FullRow(sid + "-ctrl", file, "100", "2001", "bell\u0007", "")); // line 8

        var (exit, output, error) = await Server.CliAsync("", "import", path);

        Assert.Equal(1, exit);
        Assert.Contains("line 3: sid is longer than 200 characters (201)", error, StringComparison.Ordinal);
        Assert.Contains("line 4: calling_number is longer than 128 characters (129)", error, StringComparison.Ordinal);
        Assert.Contains("line 5: called_number is longer than 128 characters (129)", error, StringComparison.Ordinal);
        Assert.Contains("line 6: calling_name is longer than 200 characters (201)", error, StringComparison.Ordinal);
        Assert.Contains("line 7: called_name is longer than 200 characters (201)", error, StringComparison.Ordinal);
        Assert.Contains("line 8: calling_name has control characters", error, StringComparison.Ordinal);
        Assert.Contains("import: added 1 couples", output, StringComparison.Ordinal);
        Assert.Equal([sid + "-max"], await SidsLikeAsync(sid));
    }

    [Fact]
    public async Task Import_WideSidsAndFormulaNames_ZipExtractsAndCalldataIsDefused()
    {
        var wide = new string('ü', 200);
        var bidi = Unique() + "\u202Egpj.exe";
        var path = Manifest(
            FullRow(wide, Recording("w1.mp3", 3000), "+15550100", "-2+3", "\"=HYPERLINK(\"\"http://evil.example/\"\",\"\"x\"\")\"", "@SUM(A1)"),
            FullRow(wide, Recording("w2.mp3", 4000), "+15550100", "-2+3", "\"=HYPERLINK(\"\"http://evil.example/\"\",\"\"x\"\")\"", "@SUM(A1)"),
            FullRow(bidi, Recording("b.mp3", 5000), "100", "200", "Zoë", "+SUM(1)"));
        var (exit, _, error) = await Server.CliAsync("", "import", path);
        Assert.True(exit == 0, error);

        long[] ids;
        await using (var connection = await Server.Services.GetRequiredService<Database>().OpenAsync())
        {
            ids = [await connection.ExecuteScalarAsync<long>("SELECT id FROM couples WHERE sid = @wide", new { wide }), await connection.ExecuteScalarAsync<long>("SELECT id FROM couples WHERE sid = @bidi", new { bidi })];
        }

        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, $"id_call[]={ids[0]},{ids[1]}&action=download");
        using var response = await client.SendAsync(CallRec.Send(session, token, "zip"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var zipPath = Path.Combine(_work, "names.zip");
        await File.WriteAllBytesAsync(zipPath, await response.Content.ReadAsByteArrayAsync());

        await Tool.RequireAsync("unzip", "-tq", zipPath);
        var target = Directory.CreateDirectory(Path.Combine(_work, "unzipped")).FullName;
        await Tool.RequireAsync("unzip", "-q", zipPath, "-d", target);
        var names = Directory.EnumerateFiles(target).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(5, names.Count);
        Assert.All(names, n => Assert.InRange(Encoding.UTF8.GetByteCount(n!), 1, 143));
        Assert.Equal(2, names.Count(n => n!.StartsWith($"{ids[0]}_üüü", StringComparison.Ordinal) && n.EndsWith(".mp3", StringComparison.Ordinal)));
        Assert.Contains($"{ids[1]}_{bidi.Replace("\u202E", "", StringComparison.Ordinal)}.mp3", names);

        using var zip = new System.IO.Compression.ZipArchive(File.OpenRead(zipPath));
        using var reader = new StreamReader(zip.GetEntry("calldata.txt")!.Open());
        var rows = (await reader.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(l => l.Split('\t')).ToList();
        Assert.Equal(3, rows.Count);
        Assert.All(rows.Take(2), r => Assert.Equal(["+15550100", "'=HYPERLINK(\"http://evil.example/\",\"x\")", "'-2+3", "'@SUM(A1)"], r[4..8]));
        Assert.Equal("'+SUM(1)", rows[2][7]);
        Assert.Equal(bidi, rows[2][1]);
    }

    private static string Unique() => "imp" + Guid.NewGuid().ToString("N")[..12];

    private static async Task<string> WriteAsync(string path)
    {
        await File.WriteAllBytesAsync(path, new byte[1000]);
        return path;
    }

    private string Recording(string name, int size)
    {
        var path = Path.Combine(_work, name);
        var bytes = new byte[size];
        Random.Shared.NextBytes(bytes);

        // Random bytes stand for a recording: they start with their format's signature, so the import's format check
        // never takes a file for text (which 64 random bytes are, about once in 1,700 files) nor for another format
        // (random bytes after an ID3 tag in a .wav are sometimes MP3 frames to ffprobe).
        var signature = name.EndsWith(".wav", StringComparison.Ordinal) ? "RIFF\0\0\0\0WAVE"u8
            : name.EndsWith(".mkv", StringComparison.Ordinal) || name.EndsWith(".recd", StringComparison.Ordinal) ? [0x1A, 0x45, 0xDF, 0xA3]
            : "ID3"u8;
        signature.CopyTo(bytes);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static string Row(string sid, string path, string callingName = "") =>
        $"{sid},2026-11-01T10:00:00Z,2026-11-01T10:05:00Z,+15550100,2001,audio,{path},\"{callingName}\",Agent\n";

    private static string FullRow(string sid, string path, string calling, string called, string callingName, string calledName) =>
        $"{sid},2026-11-01T10:00:00Z,2026-11-01T10:05:00Z,{calling},{called},audio,{path},{callingName},{calledName}\n";

    private string Manifest(params string[] rows)
    {
        var path = Path.Combine(_work, $"m-{Guid.NewGuid():N}.csv");
        File.WriteAllText(path, Header + string.Concat(rows));
        return path;
    }

    private async Task<List<string>> SidsLikeAsync(string prefix)
    {
        await using var connection = await Server.Services.GetRequiredService<Database>().OpenAsync();
        return (await connection.QueryAsync<string>("SELECT sid FROM couples WHERE sid LIKE @p ORDER BY sid", new { p = prefix + "%" })).ToList();
    }

    private async Task<(long Couples, long Files, long Types)> SnapshotAsync()
    {
        await using var connection = await Server.Services.GetRequiredService<Database>().OpenAsync();
        return (
            await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM couples"),
            await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM media_files"),
            await connection.ExecuteScalarAsync<long>("SELECT COALESCE(SUM(types), 0) FROM couples"));
    }
}
