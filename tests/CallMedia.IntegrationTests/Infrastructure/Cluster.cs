using System.Diagnostics;
using System.Text.RegularExpressions;

namespace CallMedia.IntegrationTests.Infrastructure;

/// <summary>One `callmedia serve` process of a cluster.</summary>
public sealed class Node(Process process, Uri address) : IDisposable
{
    public Uri Address { get; } = address;

    public Process Process { get; } = process;

    public HttpClient CreateClient() =>
        new(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = Address, Timeout = TimeSpan.FromMinutes(2) };

    public void Kill()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
            Process.WaitForExit();
        }
    }

    public void Dispose()
    {
        Kill();
        Process.Dispose();
    }
}

/// <summary>Several real server processes on free ports of 127.0.0.1, sharing one database and one media folder.</summary>
public sealed partial class Cluster : IAsyncDisposable
{
    private Cluster(string dataDir, string[] databaseArgs, List<Node> nodes)
    {
        DataDir = dataDir;
        DatabaseArgs = databaseArgs;
        Nodes = nodes;
    }

    public string DataDir { get; }

    public string[] DatabaseArgs { get; }

    public List<Node> Nodes { get; }

    public static async Task<Cluster> StartAsync(int count, params string[] config)
    {
        var (dataDir, databaseArgs) = await TestDatabase.NewAsync();
        var nodes = new List<Node>();
        for (var i = 0; i < count; i++)
        {
            nodes.Add(await StartNodeAsync(databaseArgs, config));
        }

        return new Cluster(dataDir, databaseArgs, nodes);
    }

    /// <summary>Starts every node at the same moment on an empty database, so they race to migrate it.</summary>
    public static async Task<Cluster> StartAllAtOnceOnEmptyAsync(int count)
    {
        var (dataDir, databaseArgs) = await TestDatabase.NewEmptyAsync();
        var nodes = await Task.WhenAll(Enumerable.Range(0, count).Select(_ => StartNodeAsync(databaseArgs, [])));
        return new Cluster(dataDir, databaseArgs, [.. nodes]);
    }

    public async Task<Node> AddNodeAsync(params string[] config)
    {
        var node = await StartNodeAsync(DatabaseArgs, config);
        Nodes.Add(node);
        return node;
    }

    private static async Task<Node> StartNodeAsync(string[] databaseArgs, string[] config)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])[typeof(CallMedia.Cli.CliApp).Assembly.Location, "serve", "--no-demo", .. databaseArgs, "--urls", "http://127.0.0.1:0", .. config.Select(c => "--" + c)])
        {
            start.ArgumentList.Add(a);
        }

        var process = Process.Start(start)!;
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            var match = Listening().Match(line);
            if (match.Success)
            {
                // Keep draining the output so the process never blocks on a full pipe.
                _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
                return new Node(process, new Uri(match.Groups[1].Value));
            }
        }

        throw new InvalidOperationException($"node exited before listening (exit {process.ExitCode})");
    }

    [GeneratedRegex(@"listening on (http://\S+)/callrec/")]
    private static partial Regex Listening();

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            node.Dispose();
        }

        await TestDatabase.DropAsync(DatabaseArgs);
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
            // A file a killed node still had open; the temp folder is cleaned by the OS.
        }
    }
}
