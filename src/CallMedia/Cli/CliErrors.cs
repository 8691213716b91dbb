namespace CallMedia.Cli;

/// <summary>A command line error (exit code 2); the message is printed as the one line on standard error.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>A command that cannot run as asked (exit code 1); the message is printed as the one line on standard error.</summary>
public sealed class CliFailureException(string message) : Exception(message);

/// <summary>Turns the parser's first complaint into one clear line that names the command and how to get its help.</summary>
public static class CliErrors
{
    public static string Describe(System.CommandLine.ParseResult parsed)
    {
        var result = parsed.CommandResult;
        var command = result.Command;
        var path = Path(result);
        var verbs = string.Join(", ", command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name));
        if (parsed.UnmatchedTokens.Count > 0 && parsed.UnmatchedTokens[0] is { } token)
        {
            if (token.StartsWith('-'))
            {
                return $"unknown option {token} for '{path}' (see '{path} --help')";
            }

            if (command.Subcommands.Count > 0)
            {
                return result.Parent is null
                    ? $"unknown command '{token}' (try 'callmedia --help')"
                    : $"unknown {command.Name} command '{token}' (one of: {verbs})";
            }

            return $"unexpected argument '{token}' for '{path}' (see '{path} --help')";
        }

        foreach (var argument in command.Arguments)
        {
            if (argument.Arity.MinimumNumberOfValues > 0 && (parsed.GetResult(argument)?.Tokens.Count ?? 0) < argument.Arity.MinimumNumberOfValues)
            {
                return $"missing {argument.Description} (see '{path} --help')";
            }
        }

        if (command.Subcommands.Count > 0 && command.Action is null)
        {
            return $"missing {command.Name} command (one of: {verbs})";
        }

        return $"{parsed.Errors[0].Message.TrimEnd('.')} (see '{path} --help')";
    }

    /// <summary>The command's words from the root, e.g. <c>callmedia user add</c>.</summary>
    public static string Path(System.CommandLine.Parsing.CommandResult result)
    {
        var words = new List<string>();
        for (System.CommandLine.Parsing.SymbolResult? r = result; r is not null; r = r.Parent)
        {
            if (r is System.CommandLine.Parsing.CommandResult c)
            {
                words.Insert(0, c.Command.Name);
            }
        }

        return string.Join(' ', words);
    }
}
