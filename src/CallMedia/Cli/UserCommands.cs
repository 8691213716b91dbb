using System.Text;
using CallMedia.Auth;

namespace CallMedia.Cli;

/// <summary><c>callmedia user ...</c>: every change is audited.</summary>
public static class UserCommands
{
    public static async Task<int> RunAsync(CliArgs cli, IServiceProvider services, CliConsole console, CancellationToken ct)
    {
        var users = services.GetRequiredService<UserStore>();
        var verb = cli.Word(1, "user command (add, grant, revoke, scope, disable, enable, passwd, list)");
        if (verb == "list")
        {
            await CliApp.WriteListAsync(
                cli, console, await users.ListAsync(ct), u => $"{u.Name}\t{(u.Disabled ? "disabled" : "enabled")}\troles={string.Join(',', u.Roles)}\tscope={string.Join(',', u.Scope)}");
            return 0;
        }

        var name = cli.Word(2, "user name");
        var rest = cli.Words.Skip(3).ToList();
        switch (verb)
        {
            case "add":
                var password = await ReadPasswordAsync(console, ct);
                await users.AddAsync(name, password, cli.Options("--role"), ParseScope(cli.Option("--scope") ?? "all"), ct);
                break;
            case "grant":
                await users.GrantAsync(name, RequireRoles(rest), ct);
                break;
            case "revoke":
                await users.RevokeAsync(name, RequireRoles(rest), ct);
                break;
            case "scope":
                await users.SetScopeAsync(name, ParseScope(cli.Option("--scope") ?? (rest.Count == 1 ? rest[0] : throw new UsageException("give the scope: all or a comma-separated list of numbers"))), ct);
                break;
            case "disable":
            case "enable":
                await users.SetDisabledAsync(name, verb == "disable", ct);
                break;
            case "passwd":
                await users.SetPasswordAsync(name, await ReadPasswordAsync(console, ct), ct);
                break;
            default:
                throw new UsageException($"unknown user command '{verb}'");
        }

        await CliApp.AuditAdminAsync(services, $"admin.user.{verb}:{name}");
        await console.Out.WriteLineAsync($"user {name}: {verb} done");
        return 0;
    }

    /// <summary><c>all</c> is null (every couple); otherwise the numbers, comma separated.</summary>
    public static IReadOnlyList<string>? ParseScope(string value)
    {
        if (value.Trim() == "all")
        {
            return null;
        }

        var numbers = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (numbers.Length == 0 || numbers.Any(n => n.Length > 64 || n.Any(char.IsControl)))
        {
            throw new UsageException("a scope is 'all' or a comma-separated list of numbers");
        }

        return numbers;
    }

    private static List<string> RequireRoles(List<string> roles) =>
        roles.Count > 0 ? roles : throw new UsageException("name at least one role");

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
}
