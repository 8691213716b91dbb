using System.CommandLine;
using System.Globalization;
using CallMedia.Audit;
using CallMedia.Calls;
using CallMedia.Delivery;
using CallMedia.Retention;

namespace CallMedia.Cli;

/// <summary><c>callmedia retention policy|hold|run ...</c>: retention policies, legal holds and the purge.</summary>
public static class RetentionCommands
{
    public static Command Create(CliContext cli) =>
        CliContext.Verb("retention", "keep recordings as long as a policy says, unless a legal hold keeps them longer", Policy(cli), Hold(cli), Run(cli));

    private static Command Policy(CliContext cli)
    {
        var json = CliContext.Json();
        var list = CliContext.Verb("list", "list the retention policies", json);
        cli.WithServices(list, async (p, services, ct) =>
        {
            await CliApp.WriteListAsync(
                p.GetValue(json),
                cli.Console,
                await Store(services).PoliciesAsync(ct),
                r => $"{r.Name}\t{r.Media}\t{(r.Numbers.Length == 0 ? "all calls" : r.Numbers)}\t{r.Keep}",
                r => new { id = r.Id, name = r.Name, media = r.Media, numbers = r.NumberList, keep = r.Keep, createdBy = r.CreatedBy });
            return 0;
        });

        var name = CliContext.Arg("name", "policy name");
        var keep = CliContext.Value("--keep", "period", "how long after the call ended its recordings are kept: 90d, 12w, 6m, 3y");
        keep.Required = true;
        var media = CliContext.Value("--media", "audio|video|all", "which recordings (default all; video includes screen captures)");
        var numbers = CliContext.Value("--numbers", "n,n...", "only calls from or to these numbers (default every call)");
        var add = CliContext.Verb("add", "add a policy; where several cover a call, the longest wins", name, keep, media, numbers);
        cli.WithServices(add, async (p, services, ct) =>
        {
            var policy = await Input(() => Store(services).AddPolicyAsync(
                p.GetValue(name)!, p.GetValue(media) ?? "all", (p.GetValue(numbers) ?? "").Split(','), p.GetValue(keep)!, Audit(services), ct));
            await services.GetRequiredService<AuditLog>().FlushAsync(ct);
            await cli.Console.Out.WriteLineAsync($"retention policy {policy.Name}: {policy.Media} kept {policy.Keep}");
            return 0;
        });

        var deleteName = CliContext.Arg("name", "policy name");
        var delete = CliContext.Verb("delete", "delete a policy", deleteName);
        cli.WithServices(delete, async (p, services, ct) =>
        {
            var named = p.GetValue(deleteName)!;
            var id = await Store(services).PolicyIdAsync(named, ct) ?? throw new CliFailureException($"no retention policy named '{named}'");
            await Store(services).DeletePolicyAsync(id, Audit(services), ct);
            await services.GetRequiredService<AuditLog>().FlushAsync(ct);
            await cli.Console.Out.WriteLineAsync($"retention policy {named}: deleted");
            return 0;
        });
        return CliContext.Verb("policy", "which calls are kept how long", list, add, delete);
    }

    private static Command Hold(CliContext cli)
    {
        var json = CliContext.Json();
        var all = CliContext.Flag("--all", "released holds too");
        var list = CliContext.Verb("list", "list the legal holds in force (newest first)", json, all);
        cli.WithServices(list, async (p, services, ct) =>
        {
            await CliApp.WriteListAsync(
                p.GetValue(json),
                cli.Console,
                await Store(services).HoldsAsync(!p.GetValue(all), ct),
                h => $"{h.Id}\t{h.Selector}\t{(h.Active ? "active" : "released")}\t{h.PlacedBy}\t{h.Reason}",
                h => new
                {
                    id = h.Id,
                    callId = h.CoupleId,
                    sid = h.Sid,
                    number = h.Number,
                    from = h.FromAt is { } f ? CallDataManifest.Iso(DateTimeOffset.FromUnixTimeMilliseconds(f)) : null,
                    to = h.ToAt is { } t ? CallDataManifest.Iso(DateTimeOffset.FromUnixTimeMilliseconds(t)) : null,
                    reason = h.Reason,
                    placedBy = h.PlacedBy,
                    placedAt = CallDataManifest.Iso(DateTimeOffset.FromUnixTimeMilliseconds(h.PlacedAt)),
                    releasedAt = h.ReleasedAt is { } r ? CallDataManifest.Iso(DateTimeOffset.FromUnixTimeMilliseconds(r)) : null,
                    releasedBy = h.ReleasedBy,
                    releaseReason = h.ReleaseReason,
                });
            return 0;
        });

        var reason = CliContext.Value("--reason", "text", "why the calls are held (a case number, say)");
        reason.Required = true;
        var call = CliContext.Value("--call", "id", "hold one call (couple id)");
        var sid = CliContext.Value("--sid", "sid", "hold the call with this recorder id");
        var number = CliContext.Value("--number", "n", "hold every call from or to this number");
        var from = CallsCommands.From();
        var to = CallsCommands.To();
        var add = CliContext.Verb("add", "place a hold: the calls it names are never purged until it is released", reason, call, sid, number, from, to);
        cli.WithServices(add, async (p, services, ct) =>
        {
            long? id = p.GetValue(call) is { } text
                ? long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw new UsageException("--call must be a couple id")
                : null;
            var (start, end) = CallsCommands.Span(p, from, to);
            var hold = await Input(() => Store(services).PlaceHoldAsync(
                new NewHold(id, p.GetValue(sid), p.GetValue(number), start, end, p.GetValue(reason)!),
                Audit(services),
                ct));
            await services.GetRequiredService<AuditLog>().FlushAsync(ct);
            await cli.Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"hold {hold.Id}: {hold.Selector}"));
            return 0;
        });

        var holdId = CliContext.Arg("id", "hold id (see hold list)");
        var why = CliContext.Value("--reason", "text", "why it is released");
        var release = CliContext.Verb("release", "release a hold (recorded: who, when, why)", holdId, why);
        cli.WithServices(release, async (p, services, ct) =>
        {
            var id = long.TryParse(p.GetValue(holdId), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw new UsageException("the hold id is a number");
            var result = await Input(() => Store(services).ReleaseHoldAsync(id, p.GetValue(why), Audit(services), ct)) ?? throw new CliFailureException($"no hold {id}");
            await services.GetRequiredService<AuditLog>().FlushAsync(ct);
            await cli.Console.Out.WriteLineAsync(result.Released ? $"hold {id}: released" : $"hold {id}: was released already");
            return 0;
        });
        return CliContext.Verb("hold", "legal holds: calls that are kept whatever the policies say", list, add, release);
    }

    private static Command Run(CliContext cli)
    {
        var dryRun = CliContext.Flag("--dry-run", "print what would be deleted and the bytes it would free; change nothing");
        var run = CliContext.Verb("run", "purge now: delete the recordings past their policy (held calls stay)", dryRun);
        cli.WithServices(run, async (p, services, ct) =>
        {
            var dry = p.GetValue(dryRun);
            async Task PrintAsync(IReadOnlyList<PurgedCall> calls)
            {
                foreach (var c in calls)
                {
                    await cli.Console.Out.WriteLineAsync(string.Create(
                        CultureInfo.InvariantCulture, $"{(dry ? "would purge" : "purged")}\t{c.CoupleId}\t{c.Sid}\t{string.Join(',', MediaType.Names(c.Types))}\t{c.Files} files\t{c.Bytes} bytes\tpolicy {c.Policies}"));
                }

                await cli.Console.Out.FlushAsync(ct);
            }

            // A real run prints each batch as it is committed (its files are then deleted); a dry run prints at the end.
            var report = await services.GetRequiredService<RetentionPurge>().RunAsync(dry, "cli:" + Environment.UserName, "cli", PrintAsync, ct);
            if (dry)
            {
                await PrintAsync(report.Calls);
            }
            else
            {
                await services.GetRequiredService<AuditLog>().FlushAsync(ct);
            }

            var mb = (report.Bytes / 1_000_000.0).ToString("0.0", CultureInfo.InvariantCulture);
            var leftovers = report.QueuedLeftovers > 0 ? string.Create(CultureInfo.InvariantCulture, $"; finished {report.QueuedLeftovers} deletions of an interrupted run") : "";
            await cli.Console.Out.WriteLineAsync(dry
                ? string.Create(CultureInfo.InvariantCulture, $"retention: dry run: {report.Calls.Count} calls, {report.Files} files, {report.Bytes} bytes ({mb} MB) would be freed; nothing changed")
                : string.Create(CultureInfo.InvariantCulture, $"retention: purged {report.Calls.Count} calls, {report.Files} files, {report.Bytes} bytes ({mb} MB) freed{leftovers}"));
            return 0;
        });
        return run;
    }

    private static RetentionStore Store(IServiceProvider services) => services.GetRequiredService<RetentionStore>();

    private static AuditEntry Audit(IServiceProvider services) =>
        new(services.GetRequiredService<TimeProvider>().GetUtcNow(), "cli:" + Environment.UserName, "cli", "admin.retention", null, null, "ok");

    private static async Task<T> Input<T>(Func<Task<T>> change)
    {
        try
        {
            return await change();
        }
        catch (RetentionInputException ex)
        {
            throw new UsageException(ex.Message);
        }
    }
}
