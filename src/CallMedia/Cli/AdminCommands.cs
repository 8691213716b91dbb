using System.Globalization;
using CallMedia.Audit;
using CallMedia.Auth;

namespace CallMedia.Cli;

/// <summary><c>callmedia role ...</c> and <c>callmedia audit ...</c>.</summary>
public static class AdminCommands
{
    public static async Task<int> RoleAsync(CliArgs cli, IServiceProvider services, CliConsole console, CancellationToken ct)
    {
        var roles = services.GetRequiredService<RoleStore>();
        var verb = cli.Word(1, "role command (list, add, grant, revoke, delete)");
        if (verb == "list")
        {
            await CliApp.WriteListAsync(cli, console, await roles.ListAsync(ct), r => $"{r.Name}\t{(r.Builtin ? "built-in" : "custom")}\t{string.Join(',', r.Rights)}");
            return 0;
        }

        var name = cli.Word(2, "role name");
        var rights = cli.Words.Skip(3).ToList();
        switch (verb)
        {
            case "add":
                await roles.AddAsync(name, rights, ct);
                break;
            case "grant":
                await roles.GrantAsync(name, rights.Count > 0 ? rights : throw new UsageException("name at least one right"), ct);
                break;
            case "revoke":
                await roles.RevokeAsync(name, rights.Count > 0 ? rights : throw new UsageException("name at least one right"), ct);
                break;
            case "delete":
                await roles.DeleteAsync(name, ct);
                break;
            default:
                throw new UsageException($"unknown role command '{verb}'");
        }

        await CliApp.AuditAdminAsync(services, $"admin.role.{verb}:{name}:{string.Join('+', rights)}");
        await console.Out.WriteLineAsync($"role {name}: {verb} done");
        return 0;
    }

    public static async Task<int> AuditAsync(CliArgs cli, IServiceProvider services, CliConsole console, CancellationToken ct)
    {
        var chain = services.GetRequiredService<AuditChain>();
        var verb = cli.Word(1, "audit command (verify, export)");
        switch (verb)
        {
            case "verify":
                {
                    (long, string)? anchor = null;
                    if (cli.Option("--anchor") is { } text)
                    {
                        var parts = text.Split(':');
                        anchor = parts.Length == 2 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var seq)
                            ? (seq, parts[1])
                            : throw new UsageException("--anchor is <seq>:<hash>, as printed by an earlier verify");
                    }

                    var report = await chain.VerifyAsync(anchor, ct);
                    if (report.BrokenAt is { } broken)
                    {
                        await console.Out.WriteLineAsync($"audit: {report.Records} records verified before the break");
                        await console.Error.WriteLineAsync($"callmedia: audit chain broken at record {broken}: {report.Problem}");
                        return 1;
                    }

                    await console.Out.WriteLineAsync($"audit: {report.Records} records, chain intact; head {report.HeadSeq}:{report.HeadHash} (keep it to check later with --anchor)");
                    return 0;
                }

            case "export":
                await chain.ExportCsvAsync(console.Out, CallsCommands.Time(cli.Option("--from"), "--from"), CallsCommands.Time(cli.Option("--to"), "--to"), ct);
                return 0;
            default:
                throw new UsageException($"unknown audit command '{verb}'");
        }
    }
}
