using System.Globalization;
using System.Text;
using CallMedia.Calls;
using CallMedia.Delivery;
using Microsoft.Extensions.Options;

namespace CallMedia.Api;

/// <summary>
/// <c>GET /api/v1/calls.csv</c>: a call search as CSV for spreadsheets, with the filters of <c>GET /api/v1/calls</c>.
/// Streamed a keyset page at a time (memory does not grow with the result), only calls in the caller's scope; UTF-8 with
/// a byte order mark (so Excel reads it as UTF-8), CRLF lines, RFC 4180 quoting, and cells a spreadsheet would run as
/// formulas defused (<see cref="Hosting.SpreadsheetText"/>).
/// </summary>
public static class CallsCsv
{
    public const string Header =
        "id,sid,start_utc,stop_utc,start_local,stop_local,duration_seconds,calling_number,calling_name,called_number,called_name,direction,media";

    public static void MapCallsCsv(this RouteGroupBuilder api) =>
        api.MapGet("/calls.csv", CsvAsync)
            .Produces<string>(StatusCodes.Status200OK, "text/csv")
            .WithSummary("Search calls as spreadsheet-safe CSV (same filters as /calls; local times in tz or Delivery:TimeZone).");

    public static async Task<IResult> CsvAsync(
        HttpContext context,
        CallSearch search,
        IOptions<DeliverySettings> settings,
        string? from = null,
        string? to = null,
        string? tz = null,
        string? number = null,
        string? name = null,
        string? sid = null,
        string? has = null,
        string? minDuration = null,
        string? maxDuration = null)
    {
        var zone = ApiInput.Zone(tz);
        var query = CallsApi.Query(from, to, zone, number, name, sid, has, minDuration, maxDuration, CallSearch.MaxLimit, null);
        var user = ApiCaller.Of(context).User;
        var ct = context.RequestAborted;

        // The first page before the first byte: a bad filter is still a 400 problem.
        var page = await CallsApi.SearchPageAsync(search, user, query, ct);
        var local = zone ?? DeliveryOptions.FindZone(settings.Value.TimeZone) ?? TimeZoneInfo.Utc;
        return new CsvResult(async body =>
        {
            await body.WriteAsync(Encoding.UTF8.GetBytes("\uFEFF" + Header + "\r\n"), ct);
            while (true)
            {
                var text = new StringBuilder();
                foreach (var c in page.Items)
                {
                    text.Append(Line(c, local)).Append("\r\n");
                }

                await body.WriteAsync(Encoding.UTF8.GetBytes(text.ToString()), ct);
                if (page.Next is null)
                {
                    return;
                }

                page = await CallsApi.SearchPageAsync(search, user, query with { Cursor = page.Next }, ct);
            }
        });
    }

    public static string Line(Couple c, TimeZoneInfo zone)
    {
        string[] cells =
        [
            c.Id.ToString(CultureInfo.InvariantCulture), c.Sid, CallDataManifest.Iso(c.Start), CallDataManifest.Iso(c.Stop),
            CallDataManifest.Local(c.Start, zone), CallDataManifest.Local(c.Stop, zone),
            (Math.Max(0, c.StopAt - c.StartAt) / 1000.0).ToString("0.###", CultureInfo.InvariantCulture),
            c.CallingNumber, c.CallingName, c.CalledNumber, c.CalledName, FileNameTemplate.Direction(c), string.Join(' ', MediaType.Names(c.Types)),
        ];
        return string.Join(',', cells.Select(Cell));
    }

    /// <summary>A cell: line breaks and control characters out, a formula-like start defused, quoted when it holds a comma or quote.</summary>
    public static string Cell(string value)
    {
        var text = CallDataManifest.Clean(value);
        return text.AsSpan().IndexOfAny(",\"") < 0 ? text : "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }

    private sealed class CsvResult(Func<Stream, Task> write) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.ContentType = "text/csv; charset=utf-8";
            response.Headers.ContentDisposition = "attachment; filename=calls.csv";
            response.Headers.CacheControl = "private, no-store";
            await write(response.Body);
        }
    }
}
