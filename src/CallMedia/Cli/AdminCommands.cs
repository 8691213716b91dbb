using System.CommandLine;
using System.Globalization;
using CallMedia.Audit;
using CallMedia.Auth;

namespace CallMedia.Cli;

/// <summary><c>callmedia role ...</c> and <c>callmedia audit ...</c>.</summary>
public static class AdminCommands
{
    public static Command CreateRole(CliContext cli)
    {
        var role = CliContext.Verb("role", "define the roles users are given, as sets of rights");

        var json = CliContext.Json();
        var list = CliContext.Verb("list", "list the roles and their rights", json);
        cli.WithServices(list, async (p, services, ct) =>
        {
            await CliApp.WriteListAsync(
                p.GetValue(json), cli.Console, await Roles(services).ListAsync(ct), r => $"{r.Name}\t{(r.Builtin ? "built-in" : "custom")}\t{string.Join(',', r.Rights)}");
            return 0;
        });
        role.Subcommands.Add(list);

        (string Verb, string Description, int MinimumRights, Func<RoleStore, string, string[], CancellationToken, Task> Change)[] changes =
        [
            ("add", "add a custom role with the rights named", 0, (roles, name, rights, ct) => roles.AddAsync(name, rights, ct)),
            ("grant", "add rights to a custom role", 1, (roles, name, rights, ct) => roles.GrantAsync(name, rights, ct)),
            ("revoke", "take rights from a custom role", 1, (roles, name, rights, ct) => roles.RevokeAsync(name, rights, ct)),
            ("delete", "delete a custom role", -1, (roles, name, _, ct) => roles.DeleteAsync(name, ct)),
        ];
        foreach (var change in changes)
        {
            var name = CliContext.Arg("name", "role name");
            var rights = change.MinimumRights >= 0 ? CliContext.Args("right", "one or more rights", change.MinimumRights) : null;
            var command = rights is null
                ? CliContext.Verb(change.Verb, change.Description, name)
                : CliContext.Verb(change.Verb, change.Description, name, rights);
            cli.WithServices(command, async (p, services, ct) =>
            {
                var roleName = p.GetValue(name)!;
                var named = rights is null ? [] : p.GetValue(rights) ?? [];
                await change.Change(Roles(services), roleName, named, ct);
                await CliApp.AuditAdminAsync(services, $"admin.role.{change.Verb}:{roleName}:{string.Join('+', named)}");
                await cli.Console.Out.WriteLineAsync($"role {roleName}: {change.Verb} done");
                return 0;
            });
            role.Subcommands.Add(command);
        }

        return role;
    }

    public static Command CreateAudit(CliContext cli)
    {
        var audit = CliContext.Verb("audit", "check and export the tamper-evident audit log");

        var anchor = CliContext.Value("--anchor", "seq:hash", "also check that the chain still holds this head, printed by an earlier verify");
        var verify = CliContext.Verb("verify", "check the hash chain; prints the head to anchor later checks", anchor);
        cli.WithServices(verify, async (p, services, ct) =>
        {
            (long, string)? anchored = null;
            if (p.GetValue(anchor) is { } text)
            {
                var parts = text.Split(':');
                // A hash is 64 hexadecimal digits (SHA-256): anything else is a mistyped argument, not a rewritten chain.
                anchored = parts.Length == 2 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var seq)
                    && parts[1].Length == AuditLog.Genesis.Length && parts[1].All(char.IsAsciiHexDigit)
                    ? (seq, parts[1].ToUpperInvariant())
                    : throw new UsageException("--anchor is <seq>:<hash> (64 hexadecimal digits), as printed by an earlier verify");
            }

            var report = await services.GetRequiredService<AuditChain>().VerifyAsync(anchored, ct);
            if (report.BrokenAt is { } broken)
            {
                await cli.Console.Out.WriteLineAsync($"audit: {report.Records} records verified before the break");
                await cli.Console.Error.WriteLineAsync($"callmedia: audit chain broken at record {broken}: {report.Problem}");
                return 1;
            }

            await cli.Console.Out.WriteLineAsync($"audit: {report.Records} records, chain intact, {report.Pending} pending (written, not chained yet); head {report.HeadSeq}:{report.HeadHash} (keep it to check later with --anchor)");
            return 0;
        });
        audit.Subcommands.Add(verify);

        var from = CallsCommands.From();
        var to = CallsCommands.To();
        var export = CliContext.Verb("export", "the audit log as CSV on standard output", from, to);
        cli.WithServices(export, async (p, services, ct) =>
        {
            var (start, end) = CallsCommands.Span(p, from, to);
            await services.GetRequiredService<AuditChain>().ExportCsvAsync(cli.Console.Out, start, end, ct);
            return 0;
        });
        audit.Subcommands.Add(export);
        return audit;
    }

    private static RoleStore Roles(IServiceProvider services) => services.GetRequiredService<RoleStore>();
}
