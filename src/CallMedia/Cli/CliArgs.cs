namespace CallMedia.Cli;

/// <summary>A command line error; the message is printed as the one line on standard error.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// The parsed command line: positional words, options, flags, and configuration overrides
/// (<c>--Section:Key=value</c>) that go to the configuration as they are.
/// </summary>
public sealed class CliArgs
{
    private static readonly HashSet<string> ValueOptions =
        ["--data", "--urls", "--role", "--scope", "--from", "--to", "--number", "--sid", "--limit", "--anchor"];

    private static readonly HashSet<string> Flags = ["--no-demo", "--json", "--link", "--dry-run", "--help", "--all-unmixed"];

    private readonly Dictionary<string, List<string>> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    public List<string> Words { get; } = [];

    public List<string> ConfigArgs { get; } = [];

    public static CliArgs Parse(IReadOnlyList<string> args)
    {
        var parsed = new CliArgs();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            var name = arg.StartsWith("--", StringComparison.Ordinal) && eq > 0 ? arg[..eq] : arg;
            if (name.StartsWith("--", StringComparison.Ordinal) && name.Contains(':', StringComparison.Ordinal))
            {
                parsed.ConfigArgs.Add(arg);
                if (eq < 0 && i + 1 < args.Count)
                {
                    parsed.ConfigArgs.Add(args[++i]);
                }
            }
            else if (ValueOptions.Contains(name))
            {
                var value = eq > 0 ? arg[(eq + 1)..] : i + 1 < args.Count ? args[++i] : throw new UsageException($"{name} needs a value");
                if (!parsed._options.TryGetValue(name, out var list))
                {
                    parsed._options[name] = list = [];
                }

                list.Add(value);
            }
            else if (Flags.Contains(arg))
            {
                parsed._flags.Add(arg);
            }
            else if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new UsageException($"unknown option {arg}");
            }
            else
            {
                parsed.Words.Add(arg);
            }
        }

        return parsed;
    }

    public bool Flag(string name) => _flags.Contains(name);

    public string? Option(string name) => _options.TryGetValue(name, out var v) ? v[^1] : null;

    public IReadOnlyList<string> Options(string name) => _options.TryGetValue(name, out var v) ? v : [];

    public string Word(int index, string what) =>
        index < Words.Count ? Words[index] : throw new UsageException($"missing {what}");
}
