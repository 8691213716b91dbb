using System.CommandLine;
using System.CommandLine.Help;
using System.Reflection;
using CallMedia.App;
using CallMedia.Audit;
using CallMedia.Auth;
using CallMedia.Data;
using Microsoft.Extensions.Options;

namespace CallMedia.Cli;

/// <summary>Console streams of one CLI run, so tests can drive the CLI in-process.</summary>
public sealed record CliConsole(TextReader In, TextWriter Out, TextWriter Error, bool InputIsTerminal, bool OutputIsTerminal = false);

/// <summary>
/// <c>callmedia &lt;command&gt;</c>: parses the command line (System.CommandLine) and runs one command. Exit codes:
/// 0 done, 1 failed, 2 the command line is wrong (unknown command or option, missing or bad argument).
/// </summary>
public static class CliApp
{
    public const int Failed = 1;
    public const int UsageError = 2;

    public static async Task<int> RunAsync(string[] args, CliConsole console, CancellationToken ct = default)
    {
        try
        {
            var (configArgs, commandArgs) = SplitConfigArgs(args);
            var root = CreateCommands(console, configArgs);
            var parsed = root.Parse(commandArgs, new ParserConfiguration { ResponseFileTokenReplacer = null });
            if (parsed.Action is not HelpAction && parsed.Errors.Count > 0)
            {
                throw new UsageException(CliErrors.Describe(parsed));
            }

            return await parsed.InvokeAsync(
                new InvocationConfiguration { Output = console.Out, Error = console.Error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null },
                ct);
        }
        catch (Exception ex) when (ex is UsageException or CliFailureException or AdminException or OptionsValidationException or InvalidOperationException or IOException)
        {
            await console.Error.WriteLineAsync($"callmedia: {ex.Message}");
            return ex is UsageException ? UsageError : Failed;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await console.Error.WriteLineAsync($"callmedia: failed: {ex.GetType().Name}: {ex.Message}");
            return Failed;
        }
    }

    /// <summary>The whole command tree; every verb's definition lives next to its code.</summary>
    public static Command CreateCommands(CliConsole console, IReadOnlyList<string> configArgs)
    {
        var cli = new CliContext(console, configArgs);
        var version = CliContext.Flag("--version", "print the version and exit");
        var root = CliContext.Verb(
            "callmedia",
            "CallMedia: delivers call recordings to the players that ask for them, and administers users, roles and imports.",
            cli.Data,
            new HelpOption(),
            version,
            ServeCommand.Create(cli),
            UserCommands.Create(cli),
            AdminCommands.CreateRole(cli),
            ImportCommand.Create(cli),
            PrepareCommand.Create(cli),
            AdminCommands.CreateAudit(cli),
            CallsCommands.Create(cli),
            StorageCommand.Create(cli),
            RetentionCommands.Create(cli));

        var topics = CliContext.Args("command", "the command to explain, e.g. user add", minimum: 0);
        var help = CliContext.Verb("help", "explain a command (the same as <command> --help)", topics);
        help.SetAction(parsed => root.Parse([.. parsed.GetValue(topics) ?? [], "--help"]).Invoke(new InvocationConfiguration { Output = console.Out, Error = console.Error }));
        root.Subcommands.Add(help);

        root.SetAction(parsed =>
        {
            if (parsed.GetValue(version))
            {
                console.Out.WriteLine(Version);
                return 0;
            }

            // No command: the overview, and the exit code of a wrong command line.
            root.Parse(["--help"]).Invoke(new InvocationConfiguration { Output = console.Out });
            return UsageError;
        });
        return root;
    }

    public static string Version =>
        typeof(CliApp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(CliApp).Assembly.GetName().Version?.ToString()
        ?? "unknown";

    /// <summary>
    /// Takes the configuration overrides (<c>--Section:Key=value</c> or <c>--Section:Key value</c>) off the command
    /// line: they go to the configuration as they are, the rest to the parser.
    /// </summary>
    public static (string[] Config, string[] Command) SplitConfigArgs(IReadOnlyList<string> args)
    {
        var config = new List<string>();
        var command = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            var name = eq > 0 ? arg[..eq] : arg;
            if (name.StartsWith("--", StringComparison.Ordinal) && name.Contains(':', StringComparison.Ordinal))
            {
                config.Add(arg);
                if (eq < 0 && i + 1 < args.Count)
                {
                    config.Add(args[++i]);
                }
            }
            else
            {
                command.Add(arg);
            }
        }

        return ([.. config], [.. command]);
    }

    /// <summary>Runs a command against the same services and database the server uses, migrated first.</summary>
    public static async Task<int> WithServicesAsync(string[] configArgs, bool mayCreate, Func<IServiceProvider, Task<int>> command, CancellationToken ct)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = configArgs, ContentRootPath = AppContext.BaseDirectory });
        if (!mayCreate && await DataPresence.MissingAsync(builder.Configuration, ct) is { } missing)
        {
            throw new CliFailureException(missing);
        }

        builder.Logging.ClearProviders();
        builder.Services.AddCallMedia(builder.Configuration);
        using var host = builder.Build();
        await Migrations.ApplyAsync(host.Services.GetRequiredService<Database>(), host.Services.GetRequiredService<TimeProvider>(), ct);
        return await command(host.Services);
    }

    /// <summary>For a terminal or a script, not a web page: numbers keep their <c>+</c> and names their letters unescaped.</summary>
    public static readonly System.Text.Json.JsonSerializerOptions Json = new(System.Text.Json.JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>A listing: a JSON array with <c>--json</c> (of <paramref name="jsonShape"/> where given), otherwise one tab-separated line per item.</summary>
    public static async Task WriteListAsync<T>(bool json, CliConsole console, IReadOnlyList<T> items, Func<T, string> line, Func<T, object>? jsonShape = null)
    {
        if (json)
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
