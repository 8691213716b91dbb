using System.CommandLine;
using CallMedia.App;

namespace CallMedia.Cli;

/// <summary><c>callmedia serve</c>: the configuration overrides on the command line go to the web host.</summary>
public static class ServeCommand
{
    public const string DefaultUrls = "http://127.0.0.1:8080";

    public static Command Create(CliContext cli)
    {
        var urls = CliContext.Value("--urls", "url", $"where to listen (default {DefaultUrls}); several separated by ;");
        var noDemo = CliContext.Flag("--no-demo", "do not add the demo user and recordings to an empty database");
        var serve = CliContext.Verb("serve", "run the service (creates the data folder and database when there are none)", urls, noDemo);
        serve.SetAction((p, ct) => RunAsync(cli.ConfigArgs(p), p.GetValue(urls) ?? DefaultUrls, !p.GetValue(noDemo), cli.Console, ct));
        return serve;
    }

    private static async Task<int> RunAsync(string[] configArgs, string urls, bool demo, CliConsole console, CancellationToken ct)
    {
        await using var app = ServerHost.Build([.. configArgs, $"--urls={urls}"]);
        app.Services.GetRequiredService<Storage.MediaRoot>().RemoveLeftovers();
        await console.Out.WriteLineAsync($"CallMedia: data in {CallMediaServices.DataFolder(app.Configuration)}");
        var signIn = await ServerHost.PrepareAsync(app, demo, ct);
        await StartAsync(app, ct);
        foreach (var url in app.Urls)
        {
            await console.Out.WriteLineAsync($"CallMedia: listening on {url}/callrec/");
            await console.Out.WriteLineAsync($"CallMedia: web app at {url}/");
        }

        // The bound addresses decide whether the demo password may stay the well-known one.
        signIn = app.Services.GetRequiredService<CallMedia.Auth.DemoAccount>().ReplacedSignIn ?? signIn;
        if (signIn is not null)
        {
            await console.Out.WriteLineAsync($"CallMedia: demo sign-in {signIn}");
        }

        await app.WaitForShutdownAsync(ct);
        return 0;
    }

    /// <summary>
    /// Starts the host; when that fails (an address it cannot bind), stops it before it is disposed, so none of the
    /// background services that had started is left working on a database already closed. Stopped through the host,
    /// not service by service: the host then knows it is stopping and takes a background loop that ends cancelled for
    /// what it is, where otherwise it reports it as a failure, with a stack trace, at the level this command prints.
    /// </summary>
    private static async Task StartAsync(WebApplication app, CancellationToken ct)
    {
        try
        {
            await app.StartAsync(ct);
        }
        catch
        {
            using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await app.StopAsync(bounded.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or AggregateException or InvalidOperationException)
            {
                // The start's own failure is the one to report.
            }

            throw;
        }
    }
}
