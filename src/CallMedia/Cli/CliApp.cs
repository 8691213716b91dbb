using CallMedia.App;
using CallMedia.Audit;
using CallMedia.Auth;
using CallMedia.Data;
using Microsoft.Extensions.Options;

namespace CallMedia.Cli;

/// <summary>Console streams of one CLI run, so tests can drive the CLI in-process.</summary>
public sealed record CliConsole(TextReader In, TextWriter Out, TextWriter Error, bool InputIsTerminal, bool OutputIsTerminal = false);

/// <summary><c>callmedia &lt;command&gt;</c>: parses the command line and runs one command (API.md §8).</summary>
public static class CliApp
{
    public const string Usage = """
        usage: callmedia <command> [--data <dir>] [options]

          serve [--urls http://127.0.0.1:8080] [--no-demo]   run the service
          user add <name> [--role <role>]... [--scope all|<number>,...]   (password on standard input)
          user grant|revoke <name> <role>...
          user scope <name> all|<number>,...
          user disable|enable <name>
          user passwd <name>                                 (password on standard input)
          user list [--json]
          import <manifest.csv> [--link] [--dry-run]          bring recordings in (API.md §8)
          prepare <couple-id>... | --all-unmixed              mix screen captures with their audio into videos
          role list [--json] | role add <name> <right>... | role grant|revoke <name> <right>... | role delete <name>
          audit verify [--anchor <seq>:<hash>]                check the hash chain; prints the head to anchor later
          audit export [--from <time>] [--to <time>]          CSV on standard output
          calls list [--json] [--from <time>] [--to <time>] [--number <n>] [--sid <sid>] [--limit <n>]

        --data <dir> (env CALLMEDIA_DATA, default ./data) holds the SQLite database and the media folder.
        Any --Section:Key=value sets a configuration value (e.g. --Tokens:RangeLease=00:05:00).
        """;

    public static async Task<int> RunAsync(string[] args, CliConsole console, CancellationToken ct = default)
    {
        try
        {
            var cli = CliArgs.Parse(args);
            if (cli.Words.Count == 0 || cli.Flag("--help") || cli.Words[0] == "help")
            {
                await console.Out.WriteLineAsync(Usage);
                return cli.Words.Count == 0 && !cli.Flag("--help") ? 2 : 0;
            }

            var configArgs = ConfigArgs(cli);
            return cli.Words[0] switch
            {
                "serve" => await ServeCommand.RunAsync(cli, configArgs, console, ct),
                "user" => await WithServicesAsync(configArgs, services => UserCommands.RunAsync(cli, services, console, ct), ct),
                "import" => await WithServicesAsync(configArgs, services => ImportCommand.RunAsync(cli, services, console, ct), ct),
                "prepare" => await WithServicesAsync(configArgs, services => PrepareCommand.RunAsync(cli, services, console, ct), ct),
                "role" => await WithServicesAsync(configArgs, services => AdminCommands.RoleAsync(cli, services, console, ct), ct),
                "audit" => await WithServicesAsync(configArgs, services => AdminCommands.AuditAsync(cli, services, console, ct), ct),
                "calls" => await WithServicesAsync(configArgs, services => CallsCommands.RunAsync(cli, services, console, ct), ct),
                _ => throw new UsageException($"unknown command '{cli.Words[0]}' (try 'callmedia help')"),
            };
        }
        catch (Exception ex) when (ex is UsageException or AdminException or OptionsValidationException or InvalidOperationException or IOException)
        {
            await console.Error.WriteLineAsync($"callmedia: {ex.Message}");
            return ex is UsageException ? 2 : 1;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await console.Error.WriteLineAsync($"callmedia: failed: {ex.GetType().Name}: {ex.Message}");
            return 1;
        }
    }

    /// <summary>Configuration arguments for the host: the data folder and the --Section:Key overrides.</summary>
    public static string[] ConfigArgs(CliArgs cli)
    {
        var args = new List<string>(cli.ConfigArgs);
        if (cli.Option("--data") is { } data)
        {
            args.Add($"--{CallMediaServices.DataKey}={data}");
        }

        return [.. args];
    }

    /// <summary>Runs an admin command against the same services and database the server uses, migrated first.</summary>
    private static async Task<int> WithServicesAsync(string[] configArgs, Func<IServiceProvider, Task<int>> command, CancellationToken ct)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = configArgs, ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Services.AddCallMedia(builder.Configuration);
        using var host = builder.Build();
        await Migrations.ApplyAsync(host.Services.GetRequiredService<Database>(), host.Services.GetRequiredService<TimeProvider>(), ct);
        return await command(host.Services);
    }

    public static readonly System.Text.Json.JsonSerializerOptions Json = new(System.Text.Json.JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>A listing: a JSON array with <c>--json</c> (of <paramref name="jsonShape"/> where given), otherwise one tab-separated line per item.</summary>
    public static async Task WriteListAsync<T>(CliArgs cli, CliConsole console, IReadOnlyList<T> items, Func<T, string> line, Func<T, object>? jsonShape = null)
    {
        if (cli.Flag("--json"))
        {
            await console.Out.WriteLineAsync(System.Text.Json.JsonSerializer.Serialize(jsonShape is null ? (object)items : items.Select(jsonShape).ToList(), Json));
            return;
        }

        foreach (var item in items)
        {
            await console.Out.WriteLineAsync(line(item));
        }
    }

    /// <summary>Writes an admin change to the audit log (the CLI writes directly; it has no background writer).</summary>
    public static Task AuditAdminAsync(IServiceProvider services, string action, string outcome = "ok") =>
        services.GetRequiredService<AuditLog>().AppendAsync(
        [
            new AuditEntry(services.GetRequiredService<TimeProvider>().GetUtcNow(), "cli:" + Environment.UserName, "cli", action, null, null, outcome),
        ]);
}
