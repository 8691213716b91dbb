using System.CommandLine;
using System.Text;
using CallMedia.Auth;

namespace CallMedia.Cli;

/// <summary><c>callmedia user ...</c>: every change is audited.</summary>
public static class UserCommands
{
    public const string ScopeRule = "a scope is 'all' or a comma-separated list of numbers (digits, an optional leading +)";

    public static Command Create(CliContext cli)
    {
        var user = CliContext.Verb("user", "add and change the people who may sign in");

        var name = CliContext.Arg("name", "user name");
        var roles = new Option<string[]>("--role") { HelpName = "role", Description = "a role to grant (repeat for more)" };
        var scope = CliContext.Value("--scope", "scope", "all (the default), or the comma-separated numbers whose calls the user may see");
        var add = CliContext.Verb("add", "add a user; the password is read from standard input", name, roles, scope);
        cli.WithServices(add, async (p, services, ct) =>
        {
            var parsedScope = ParseScope(p.GetValue(scope) ?? "all");
            var password = await ReadPasswordAsync(cli.Console, ct);
            var granted = p.GetValue(roles) ?? [];
            await Users(services).AddAsync(p.GetValue(name)!, password, granted, parsedScope, ct);
            return await DoneAsync(cli, services, "add", p.GetValue(name)!, $"{Listed(granted, '+')}:{Listed(parsedScope, ',')}");
        });
        user.Subcommands.Add(add);

        foreach (var (verb, grant) in new[] { ("grant", true), ("revoke", false) })
        {
            var who = CliContext.Arg("name", "user name");
            var which = CliContext.Args("role", "one or more roles", minimum: 1);
            var command = CliContext.Verb(verb, grant ? "give a user roles" : "take roles from a user", who, which);
            cli.WithServices(command, async (p, services, ct) =>
            {
                var (name, roles) = (p.GetValue(who)!, p.GetValue(which)!);
                if (grant)
                {
                    await Users(services).GrantAsync(name, roles, ct);
                    return await DoneAsync(cli, services, verb, name, Listed(roles, '+'));
                }

                var notHeld = await Users(services).RevokeAsync(name, roles, ct);
                if (notHeld.Count == roles.Distinct(StringComparer.Ordinal).Count())
                {
                    await cli.Console.Out.WriteLineAsync($"user {name}: did not have {string.Join(", ", notHeld)}; nothing changed");
                    return 0;
                }

                if (notHeld.Count > 0)
                {
                    await cli.Console.Out.WriteLineAsync($"user {name}: did not have {string.Join(", ", notHeld)}");
                }

                return await DoneAsync(cli, services, verb, name, Listed(roles.Except(notHeld, StringComparer.Ordinal).ToList(), '+'));
            });
            user.Subcommands.Add(command);
        }

        var scopeName = CliContext.Arg("name", "user name");
        var scopeValue = CliContext.Arg("scope", "scope: all or a comma-separated list of numbers");
        var setScope = CliContext.Verb("scope", "set the numbers whose calls a user may see", scopeName, scopeValue);
        cli.WithServices(setScope, async (p, services, ct) =>
        {
            var parsed = ParseScope(p.GetValue(scopeValue)!);
            await Users(services).SetScopeAsync(p.GetValue(scopeName)!, parsed, ct);
            return await DoneAsync(cli, services, "scope", p.GetValue(scopeName)!, Listed(parsed, ','));
        });
        user.Subcommands.Add(setScope);

        foreach (var (verb, disable) in new[] { ("disable", true), ("enable", false) })
        {
            var who = CliContext.Arg("name", "user name");
            var command = CliContext.Verb(verb, disable ? "stop a user signing in; ends their sessions at once" : "let a disabled user sign in again", who);
            cli.WithServices(command, async (p, services, ct) =>
            {
                await Users(services).SetDisabledAsync(p.GetValue(who)!, disable, ct);
                return await DoneAsync(cli, services, verb, p.GetValue(who)!);
            });
            user.Subcommands.Add(command);
        }

        var passwdName = CliContext.Arg("name", "user name");
        var passwd = CliContext.Verb("passwd", "set a user's password, read from standard input", passwdName);
        cli.WithServices(passwd, async (p, services, ct) =>
        {
            await Users(services).SetPasswordAsync(p.GetValue(passwdName)!, await ReadPasswordAsync(cli.Console, ct), ct);
            return await DoneAsync(cli, services, "passwd", p.GetValue(passwdName)!);
        });
        user.Subcommands.Add(passwd);

        var json = CliContext.Json();
        var list = CliContext.Verb("list", "list the users with their roles and scope", json);
        cli.WithServices(list, async (p, services, ct) =>
        {
            await CliApp.WriteListAsync(
                p.GetValue(json),
                cli.Console,
                await Users(services).ListAsync(ct),
                u => $"{u.Name}\t{(u.Disabled ? "disabled" : "enabled")}\troles={string.Join(',', u.Roles)}\tscope={string.Join(',', u.Scope)}");
            return 0;
        });
        user.Subcommands.Add(list);
        return user;
    }

    /// <summary><c>all</c> is null (every couple); otherwise the numbers, comma separated: digits with an optional leading +.</summary>
    public static IReadOnlyList<string>? ParseScope(string value)
    {
        if (value.Trim() == "all")
        {
            return null;
        }

        var numbers = value.Split(',', StringSplitOptions.TrimEntries);
        foreach (var number in numbers)
        {
            if (!IsNumber(number))
            {
                throw new UsageException(number.Length == 0 || number.Any(char.IsControl) || number.Length > 64
                    ? $"the scope has an empty or unreadable entry: {ScopeRule}"
                    : $"'{number}' is not a number: {ScopeRule}");
            }
        }

        return numbers;
    }

    private static bool IsNumber(string text)
    {
        var digits = text.StartsWith('+') ? text[1..] : text;
        return digits.Length is > 0 and <= 64 && digits.All(char.IsAsciiDigit);
    }

    private static UserStore Users(IServiceProvider services) => services.GetRequiredService<UserStore>();

    /// <summary>
    /// Audits the change as <c>admin.user.&lt;verb&gt;:&lt;name&gt;</c>, followed by what it set when it set something
    /// (<c>:&lt;roles&gt;</c> for a grant or revoke — the ones it changed —, <c>:&lt;scope&gt;</c>, <c>:&lt;roles&gt;:&lt;scope&gt;</c> for an add), so
    /// the audit says which rights changed hands, not only that something did.
    /// </summary>
    private static async Task<int> DoneAsync(CliContext cli, IServiceProvider services, string verb, string name, string? what = null)
    {
        await CliApp.AuditAdminAsync(services, what is null ? $"admin.user.{verb}:{name}" : $"admin.user.{verb}:{name}:{what}");
        await cli.Console.Out.WriteLineAsync($"user {name}: {verb} done");
        return 0;
    }

    /// <summary>One line from standard input; on a terminal it is read without echo.</summary>
    private static async Task<string> ReadPasswordAsync(CliConsole console, CancellationToken ct)
    {
        if (!console.InputIsTerminal)
        {
            return (await console.In.ReadLineAsync(ct))?.TrimEnd('\r') ?? throw new UsageException("no password on standard input");
        }

        await console.Error.WriteAsync("Password: ");
        var text = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                break;
            }

            if (key.Key == ConsoleKey.Backspace)
            {
                if (text.Length > 0)
                {
                    text.Length--;
                }
            }
            else if (!char.IsControl(key.KeyChar))
            {
                text.Append(key.KeyChar);
            }
        }

        await console.Error.WriteLineAsync();
        return text.ToString();
    }

    /// <summary>
    /// Roles (joined by <c>+</c>, as <c>admin.role.*</c> joins rights) or a scope (by <c>,</c>: a number may start with
    /// <c>+</c>) as the audit shows them; a scope of every number is <c>all</c>; a long list cut after 50 entries.
    /// </summary>
    private static string Listed(IReadOnlyCollection<string>? items, char separator)
    {
        const int Shown = 50;
        if (items is null)
        {
            return "all";
        }

        var distinct = items.Distinct(StringComparer.Ordinal).ToList();
        return distinct.Count <= Shown ? string.Join(separator, distinct) : $"{string.Join(separator, distinct.Take(Shown))}{separator}... ({distinct.Count - Shown} more)";
    }
}
