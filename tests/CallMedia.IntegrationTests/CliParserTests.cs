using System.CommandLine;
using System.CommandLine.Help;
using System.Diagnostics;
using System.Text.RegularExpressions;
using CallMedia.Cli;
using CallMedia.IntegrationTests.Infrastructure;

namespace CallMedia.IntegrationTests;

/// <summary>The command line itself: help, version, refusals, the README's list, and folders without data.</summary>
public sealed partial class CliParserTests
{
    [Fact]
    public void Readme_CommandLineSection_ListsEveryVerbOfTheParserWithItsOptions()
    {
        var parser = Verbs(CliApp.CreateCommands(Console(), []), "").ToDictionary(v => v.Path, v => v.Options);

        var readme = File.ReadAllText(Path.Combine(RepoRoot(), "README.md"));
        var section = readme[readme.IndexOf("## Command line", StringComparison.Ordinal)..];
        section = section[..section.IndexOf("\n## ", 3, StringComparison.Ordinal)];
        var documented = new Dictionary<string, SortedSet<string>>();
        foreach (var raw in section.Split('\n').Where(l => l.StartsWith("    callmedia", StringComparison.Ordinal)))
        {
            var line = raw.Split(" #")[0];
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).TakeWhile(w => VerbWords().IsMatch(w)).ToList();
            var options = new SortedSet<string>(OptionNames().Matches(line).Select(m => m.Value), StringComparer.Ordinal);
            IEnumerable<string> paths = [""];
            foreach (var word in words)
            {
                paths = paths.SelectMany(p => word.Split('|').Select(w => (p + " " + w).Trim())).ToList();
            }

            foreach (var path in paths)
            {
                Assert.True(documented.TryAdd(path, options), $"README lists 'callmedia {path}' twice");
            }
        }

        Assert.Equal(parser.Keys.Order(StringComparer.Ordinal), documented.Keys.Order(StringComparer.Ordinal));
        foreach (var (path, options) in parser)
        {
            Assert.True(options.SetEquals(documented[path]), $"'callmedia {path}': the parser has {string.Join(' ', options)}, README says {string.Join(' ', documented[path])}");
        }
    }

    [Fact]
    public async Task Help_EveryVerb_PrintsItsOwnUsageAndExitsZero()
    {
        var paths = Verbs(CliApp.CreateCommands(Console(), []), "").Select(v => v.Path).Where(p => p.Length > 0).ToList();
        Assert.Contains("user add", paths);
        foreach (var path in paths)
        {
            foreach (var help in new[] { "-h", "--help" })
            {
                var (exit, output, error) = await RunAsync([.. path.Split(' '), help]);
                Assert.True(exit == 0, $"{path} {help}: {error}");
                Assert.Contains($"callmedia {path}", output, StringComparison.Ordinal);
                Assert.Contains("--data <dir>", output, StringComparison.Ordinal);
            }

            var (helpExit, viaHelp, _) = await RunAsync(["help", .. path.Split(' ')]);
            Assert.Equal(0, helpExit);
            Assert.Equal((await RunAsync([.. path.Split(' '), "--help"])).Out, viaHelp);
        }
    }

    [Fact]
    public async Task Version_PrintsTheVersionAndExitsZero()
    {
        var (exit, output, _) = await RunAsync(["--version"]);
        Assert.Equal(0, exit);
        Assert.Matches(@"^\d+\.\d+\.\d+", output);
    }

    [Fact]
    public async Task NoCommand_PrintsTheOverviewAndExitsWithTheUsageCode()
    {
        var (exit, output, _) = await RunAsync([]);
        Assert.Equal(CliApp.UsageError, exit);
        Assert.Contains("prepare", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("user list --link", "unknown option --link for 'callmedia user list'")]
    [InlineData("calls list --dry-run", "unknown option --dry-run for 'callmedia calls list'")]
    [InlineData("serve --json", "unknown option --json for 'callmedia serve'")]
    [InlineData("import m.csv --all-unmixed", "unknown option --all-unmixed for 'callmedia import'")]
    [InlineData("audit verify --limit 3", "unknown option --limit for 'callmedia audit verify'")]
    [InlineData("user scope demo 2001 2002", "unexpected argument '2002' for 'callmedia user scope'")]
    [InlineData("user", "missing user command")]
    [InlineData("role grant auditor", "missing one or more rights")]
    [InlineData("calls list --limit", "'--limit'")]
    public async Task WrongCommandLine_IsRefusedPerVerb_WithOneLineAndExitCode2(string command, string expected)
    {
        var (exit, output, error) = await RunAsync(command.Split(' '));
        Assert.Equal(CliApp.UsageError, exit);
        Assert.Equal("", output);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void SplitConfigArgs_TakesSectionKeyOverridesOffTheCommandLine()
    {
        var (config, command) = CliApp.SplitConfigArgs(["user", "list", "--Tokens:RangeLease=00:05:00", "--json", "--Import:AllowedRoots:0", "/srv", "--data", "d"]);
        Assert.Equal(["--Tokens:RangeLease=00:05:00", "--Import:AllowedRoots:0", "/srv"], config);
        Assert.Equal(["user", "list", "--json", "--data", "d"], command);
    }

    [Theory]
    [InlineData("calls list")]
    [InlineData("user list")]
    [InlineData("user scope demo all")]
    [InlineData("user add newcomer")]
    [InlineData("role list")]
    [InlineData("audit verify")]
    [InlineData("prepare --all-unmixed")]
    public async Task Command_InAFolderWithoutData_RefusesAndCreatesNothing(string command)
    {
        var parent = Directory.CreateTempSubdirectory("callmedia-nodata-").FullName;
        try
        {
            var missing = Path.Combine(parent, "typo");
            var (exit, output, error) = await RunAsync([.. command.Split(' '), "--data", missing], "pw-newcomer-1\n");
            Assert.Equal(1, exit);
            Assert.Equal("", output);
            Assert.Equal($"callmedia: no CallMedia data in {missing}; pass --data DIR or set CALLMEDIA_DATA", error.TrimEnd());
            Assert.False(Directory.Exists(missing));

            var (emptyExit, _, emptyError) = await RunAsync([.. command.Split(' '), $"--data={parent}"], "pw-newcomer-1\n");
            Assert.Equal(1, emptyExit);
            Assert.Contains($"no CallMedia data in {parent};", emptyError, StringComparison.Ordinal);
            Assert.Empty(Directory.EnumerateFileSystemEntries(parent));
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    [Fact]
    public async Task Serve_AddressItCannotBind_SaysSoInOneLineWithoutAStackTrace()
    {
        var data = Directory.CreateTempSubdirectory("callmedia-badurl-").FullName;
        try
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in (string[])[typeof(CliApp).Assembly.Location, "serve", "--data", data, "--no-demo", "--urls", "127.0.0.1:0"])
            {
                start.ArgumentList.Add(a);
            }

            using var process = Process.Start(start)!;
            var error = process.StandardError.ReadToEndAsync();
            var output = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
            var all = output + await error;
            Assert.Equal(1, process.ExitCode);
            Assert.Contains("callmedia: failed: FormatException: Invalid url: '127.0.0.1:0'", all, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", all, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task CallsList_DataFolderFromEnvironmentWithoutData_Refuses()
    {
        var empty = Directory.CreateTempSubdirectory("callmedia-nodata-").FullName;
        try
        {
            var (exit, output, error) = await CallsListWithDataVariableAsync(empty);
            Assert.Equal(1, exit);
            Assert.Equal("", output);
            Assert.Contains($"no CallMedia data in {empty}; pass --data DIR or set CALLMEDIA_DATA", error, StringComparison.Ordinal);
            Assert.Empty(Directory.EnumerateFileSystemEntries(empty));
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    [Fact]
    public async Task DataFolder_GivenEmpty_IsRefusedInOneLine()
    {
        var (exit, output, error) = await CallsListWithDataVariableAsync("");
        Assert.Equal(1, exit);
        Assert.Equal("", output);
        Assert.Equal("callmedia: the data folder is empty: pass --data DIR or set CALLMEDIA_DATA to a folder", error.Trim());

        var (optionExit, optionOutput, optionError) = await RunAsync(["calls", "list", "--data", ""]);
        Assert.Equal(2, optionExit);
        Assert.Equal("", optionOutput);
        Assert.Equal("callmedia: --data needs a folder", optionError.Trim());
    }

    /// <summary><c>calls list</c> in a process of its own, with <c>CALLMEDIA_DATA</c> set to <paramref name="folder"/>.</summary>
    private static async Task<(int Exit, string Out, string Error)> CallsListWithDataVariableAsync(string folder)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(typeof(CliApp).Assembly.Location);
        start.ArgumentList.Add("calls");
        start.ArgumentList.Add("list");
        start.Environment["CALLMEDIA_DATA"] = folder;
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, output, await error);
    }

    [Fact]
    public async Task UserList_OnAnEmptyDatabase_Refuses_ImportCreatesTheDataAndThenItWorks()
    {
        var (dataDir, dbArgs) = await TestDatabase.NewEmptyAsync();
        try
        {
            var (exit, _, error) = await RunAsync(["user", "list", .. dbArgs]);
            Assert.Equal(1, exit);
            Assert.Contains("no CallMedia data in ", error, StringComparison.Ordinal);

            var recording = Path.Combine(dataDir, "..", $"first-{Guid.NewGuid():N}.mp3");
            await File.WriteAllBytesAsync(recording, new byte[4096]);
            var manifest = Path.ChangeExtension(recording, ".csv");
            await File.WriteAllTextAsync(
                manifest,
                $"sid,start,stop,calling_number,called_number,type,path\nfirst-call,2026-11-01T10:00:00Z,2026-11-01T10:05:00Z,+15550100,2001,audio,{recording}\n");
            try
            {
                var (importExit, importOut, importError) = await RunAsync(["import", manifest, .. dbArgs]);
                Assert.True(importExit == 0, importError);
                Assert.Contains("import: added 1 couples", importOut, StringComparison.Ordinal);

                var (listExit, listed, listError) = await RunAsync(["calls", "list", .. dbArgs]);
                Assert.True(listExit == 0, listError);
                Assert.Contains("\tfirst-call\t", listed, StringComparison.Ordinal);
            }
            finally
            {
                File.Delete(recording);
                File.Delete(manifest);
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            await TestDatabase.DropAsync(dbArgs);
            Directory.Delete(dataDir, recursive: true);
        }
    }

    private static CliConsole Console(string stdin = "") => new(new StringReader(stdin), new StringWriter(), new StringWriter(), false);

    private static async Task<(int Exit, string Out, string Error)> RunAsync(string[] args, string stdin = "")
    {
        var console = Console(stdin);
        var exit = await CliApp.RunAsync(args, console);
        return (exit, console.Out.ToString()!, console.Error.ToString()!);
    }

    /// <summary>The root and every command that runs (has no subcommands), with its options other than help and --data.</summary>
    private static IEnumerable<(string Path, SortedSet<string> Options)> Verbs(Command command, string path)
    {
        if (path.Length == 0 || command.Subcommands.Count == 0)
        {
            yield return (path, new SortedSet<string>(
                command.Options.Where(o => !o.Hidden && o is not HelpOption && o.Name != "--data").Select(o => o.Name), StringComparer.Ordinal));
        }

        foreach (var sub in command.Subcommands.Where(c => !c.Hidden))
        {
            foreach (var verb in Verbs(sub, (path + " " + sub.Name).Trim()))
            {
                yield return verb;
            }
        }
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Directory.Packages.props")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("no repository root above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex("^[a-z][a-z|-]*$")]
    private static partial Regex VerbWords();

    [GeneratedRegex("--[a-z][a-z-]*")]
    private static partial Regex OptionNames();
}
