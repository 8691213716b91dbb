using System.CommandLine;
using CallMedia.App;
using CallMedia.Hosting;

namespace CallMedia.Cli;

/// <summary>
/// What every command's definition needs: the console, the configuration overrides taken off the command line, and
/// the global <c>--data</c> option. Commands are defined next to their code with the helpers here.
/// </summary>
public sealed class CliContext(CliConsole console, IReadOnlyList<string> configArgs)
{
    public CliConsole Console => console;

    /// <summary><c>--data &lt;dir&gt;</c>, accepted by every command.</summary>
    public Option<string> Data { get; } = new("--data")
    {
        Recursive = true,
        HelpName = "dir",
        Description = "the data folder: SQLite database and media (env CALLMEDIA_DATA, default ./data)",
    };

    /// <summary>Configuration arguments for the host: the --Section:Key overrides, then the data folder.</summary>
    public string[] ConfigArgs(ParseResult parsed) => parsed.GetValue(Data) switch
    {
        null => [.. configArgs],
        var data when string.IsNullOrWhiteSpace(data) => throw new UsageException("--data needs a folder"),
        var data => [.. configArgs, $"--{CallMediaServices.DataKey}={data}"],
    };

    /// <summary>
    /// Runs <paramref name="body"/> against the services and database the server uses. Only commands that may
    /// start a deployment (<paramref name="mayCreate"/>) run where there is no data yet; the rest refuse.
    /// </summary>
    public void WithServices(Command command, Func<ParseResult, IServiceProvider, CancellationToken, Task<int>> body, bool mayCreate = false) =>
        command.SetAction((parsed, ct) => CliApp.WithServicesAsync(ConfigArgs(parsed), mayCreate, services => body(parsed, services, ct), ct));

    public static Argument<string> Arg(string name, string what) => new(name) { Description = what };

    public static Argument<string[]> Args(string name, string what, int minimum) =>
        new(name) { Description = what, Arity = minimum == 0 ? ArgumentArity.ZeroOrMore : ArgumentArity.OneOrMore };

    public static Option<string> Value(string name, string helpName, string description) =>
        new(name) { HelpName = helpName, Description = description };

    public static Option<bool> Flag(string name, string description) => new(name) { Description = description };

    public static Option<bool> Json() => Flag("--json", "print a JSON array instead of tab-separated lines");

    public static Command Verb(string name, string description, params Symbol[] symbols)
    {
        var command = new Command(name, description);
        foreach (var symbol in symbols)
        {
            switch (symbol)
            {
                case Argument a:
                    command.Arguments.Add(a);
                    break;
                case Option o:
                    command.Options.Add(o);
                    break;
                case Command c:
                    command.Subcommands.Add(c);
                    break;
            }
        }

        return command;
    }
}
