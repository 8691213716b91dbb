using CallMedia.App;

namespace CallMedia.Cli;

/// <summary><c>callmedia serve</c>.</summary>
public static class ServeCommand
{
    public const string DefaultUrls = "http://127.0.0.1:8080";

    public static async Task<int> RunAsync(CliArgs cli, string[] configArgs, CliConsole console, CancellationToken ct)
    {
        var urls = cli.Option("--urls") ?? DefaultUrls;
        await using var app = ServerHost.Build([.. configArgs, $"--urls={urls}"]);
        await console.Out.WriteLineAsync($"CallMedia: data in {CallMediaServices.DataFolder(app.Configuration)}");
        var demo = await ServerHost.PrepareAsync(app, demo: !cli.Flag("--no-demo"), ct);
        await app.StartAsync(ct);
        foreach (var url in app.Urls)
        {
            await console.Out.WriteLineAsync($"CallMedia: listening on {url}/callrec/");
        }

        if (demo is not null)
        {
            await console.Out.WriteLineAsync($"CallMedia: demo sign-in {demo}");
        }

        await app.WaitForShutdownAsync(ct);
        return 0;
    }
}
