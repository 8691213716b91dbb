using System.CommandLine;
using System.Globalization;
using CallMedia.Calls;
using CallMedia.Delivery;

namespace CallMedia.Cli;

/// <summary><c>callmedia calls list</c>.</summary>
public static class CallsCommands
{
    public static Command Create(CliContext cli)
    {
        var json = CliContext.Json();
        var from = From();
        var to = To();
        var number = CliContext.Value("--number", "n", "only calls from or to this number");
        var sid = CliContext.Value("--sid", "sid", "only the call with this recorder id");
        var limit = CliContext.Value("--limit", "n", "at most this many calls, the newest (default 1000)");
        var list = CliContext.Verb("list", "list the stored calls (couples), newest first", json, from, to, number, sid, limit);
        cli.WithServices(list, async (p, services, ct) =>
        {
            var max = p.GetValue(limit) is { } l
                ? int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw new UsageException("--limit must be a positive number")
                : 1000;
            var (start, end) = Span(p, from, to);
            var filter = new CoupleFilter(start, end, p.GetValue(number), p.GetValue(sid), max);
            var couples = await services.GetRequiredService<CallStore>().ListAsync(filter, ct);
            await CliApp.WriteListAsync(
                p.GetValue(json),
                cli.Console,
                couples,
                c => $"{c.Id}\t{c.Sid}\t{CallDataManifest.Iso(c.Start)}\t{CallDataManifest.Iso(c.Stop)}\t{c.CallingNumber}\t{c.CalledNumber}\t{string.Join(',', MediaType.Names(c.Types))}",
                c => new
                {
                    id = c.Id,
                    sid = c.Sid,
                    start = CallDataManifest.Iso(c.Start),
                    stop = CallDataManifest.Iso(c.Stop),
                    callingNumber = c.CallingNumber,
                    callingName = c.CallingName,
                    calledNumber = c.CalledNumber,
                    calledName = c.CalledName,
                    types = MediaType.Names(c.Types),
                });
            return 0;
        });
        return CliContext.Verb("calls", "look at the stored calls", list);
    }

    public static Option<string> From() => CliContext.Value("--from", "time", "from this time on, e.g. 2026-11-16 or 2026-11-16T08:00:00Z (UTC unless an offset is given)");

    public static Option<string> To() => CliContext.Value("--to", "time", "up to this time");

    /// <summary>The <c>--from</c> and <c>--to</c> of a command, each ISO 8601 (<see cref="IsoTime"/>), in order.</summary>
    public static (DateTimeOffset? From, DateTimeOffset? To) Span(ParseResult p, Option<string> from, Option<string> to)
    {
        var (start, end) = (Time(p.GetValue(from), "--from"), Time(p.GetValue(to), "--to"));
        return start > end ? throw new UsageException("--from is after --to") : (start, end);
    }

    private static DateTimeOffset? Time(string? value, string option)
    {
        if (value is null)
        {
            return null;
        }

        return IsoTime.TryParse(value, out var t)
            ? t
            : throw new UsageException($"{option} must be a time such as {IsoTime.Example}; '{value}' is not one");
    }
}
