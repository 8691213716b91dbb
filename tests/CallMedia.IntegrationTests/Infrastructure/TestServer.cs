using System.Net;
using CallMedia.App;
using CallMedia.Audit;
using CallMedia.Auth;
using CallMedia.Cli;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace CallMedia.IntegrationTests.Infrastructure;

/// <summary>
/// The real server (the host <c>callmedia serve</c> builds, on Kestrel) on a free port of 127.0.0.1, over a copy
/// of the demo data. Its clock is a <see cref="FakeTimeProvider"/> so expiry can be tested without waiting.
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    public const string DemoPassword = ServerHost.LoopbackDemoPassword;

    private readonly WebApplication _app;

    private TestServer(WebApplication app, LogSink log, string dataDir, string[] databaseArgs, FakeTimeProvider clock, Uri baseAddress)
    {
        _app = app;
        Log = log;
        DataDir = dataDir;
        DatabaseArgs = databaseArgs;
        Clock = clock;
        BaseAddress = baseAddress;
    }

    public string DataDir { get; }

    /// <summary>The arguments that point a CLI or another server at this server's data: data folder and database.</summary>
    public string[] DatabaseArgs { get; }

    public FakeTimeProvider Clock { get; }

    /// <summary>What this server alone logged (<see cref="LogSink.Shared"/> holds every server's lines of the run).</summary>
    public LogSink Log { get; }

    public Uri BaseAddress { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<TestServer> StartAsync(params string[] config)
    {
        var (dataDir, databaseArgs) = await TestDatabase.NewAsync();
        return await StartOnAsync(dataDir, databaseArgs, config);
    }

    /// <summary>Starts on existing data (another server's, say, after it died).</summary>
    public static async Task<TestServer> StartOnAsync(string dataDir, string[] databaseArgs, params string[] config)
    {
        var clock = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        var log = new LogSink();
        var app = ServerHost.Build(
            [
                .. databaseArgs, "--urls=http://127.0.0.1:0",
                // Tests link files from the temp folder, and sign in wrongly on purpose: throttling has its own tests.
                $"--Import:AllowedRoots:0={Path.GetTempPath()}", "--Login:FreeFailuresPerNameAndAddress=100000", "--Login:FreeFailuresPerName=100000", "--Login:FreeFailuresPerAddress=100000",
                "--Logging:LogLevel:Default=Debug", "--Hosting:AnonymousRequestsPerMinute=1000000",
                .. config.Select(c => "--" + c),
            ],
            builder =>
            {
                builder.Services.Replace(ServiceDescriptor.Singleton<TimeProvider>(clock));
                builder.Logging.AddProvider(LogSink.Shared);
                builder.Logging.AddProvider(log);
            });
        await ServerHost.PrepareAsync(app, demo: true);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new TestServer(app, log, dataDir, databaseArgs, clock, new Uri(address));
    }

    /// <summary>A client that keeps no cookies: tests say exactly which session travels, and how.</summary>
    public HttpClient CreateClient() =>
        new(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.None })
        {
            BaseAddress = BaseAddress,
        };

    /// <summary>Runs a CLI command in-process against this server's data folder.</summary>
    public async Task<(int Exit, string Out, string Error)> CliAsync(string stdin, params string[] args)
    {
        LogSink.Shared.AddSecret(stdin.Trim());
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await CliApp.RunAsync([.. args, .. DatabaseArgs], new CliConsole(new StringReader(stdin), output, error, false));
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>
    /// Waits out the bound within which a change to users, rights or sessions made by another process (the CLI)
    /// takes effect here (<c>Sessions:ChangePollInterval</c>); one made through this server takes effect at once.
    /// </summary>
    public Task AwaitChangesFromElsewhereAsync() =>
        Task.Delay(Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<CallMedia.Auth.SessionOptions>>().Value.ChangePollInterval + TimeSpan.FromMilliseconds(100));

    public async Task AddUserAsync(string name, string password, string[] roles, string[]? scope = null)
    {
        LogSink.Shared.AddSecret(password);
        await Services.GetRequiredService<UserStore>().AddAsync(name, password, roles, scope);
    }

    /// <summary>Closes the records of the transfers whose responses have been sent, then chains every closed record.</summary>
    public async Task FlushAuditAsync()
    {
        await Services.GetRequiredService<CallMedia.Delivery.TransferRecords>().SettledAsync();
        await Services.GetRequiredService<AuditLog>().FlushAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        // Whatever a test did, no exception may have escaped the application to the server: every failure is answered
        // (or, mid-body, the transfer cut off) by the application's own error handling.
        var escaped = Log.Lines.FirstOrDefault(l => l.Contains("unhandled exception was thrown by the application", StringComparison.OrdinalIgnoreCase));
        await TestDatabase.DropAsync(DatabaseArgs);
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by a finishing request; the temp folder is cleaned by the OS.
        }

        Assert.True(escaped is null, $"an exception escaped the application: {escaped}");
    }
}
