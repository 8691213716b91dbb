using System.Text;

namespace CallMedia.Hosting;

/// <summary>
/// Takes every <c>;jsessionid=...</c> (any case) off the request path before routing, so
/// <c>/callrec/sendcallfile.mp3;jsessionid=X</c> routes as <c>/callrec/sendcallfile.mp3</c>, and keeps the first value
/// as the request's session candidate. Players fetch media without cookies, which is why this exists. The server
/// already strips the path where it hands the request over (<see cref="SecretRedaction"/>), before anything logs it;
/// the middleware covers a host built without that.
/// </summary>
public static class SessionIdPathParameter
{
    private const string ItemKey = "callmedia.path-session";

    /// <summary>The parameter's name as it starts in a path, matched in any case of its ASCII letters.</summary>
    private const string Marker = ";jsessionid=";

    /// <summary>
    /// The path without any <c>;jsessionid=</c> parameter (its name in any case of its ASCII letters; its value runs
    /// to the next <c>;</c> or <c>/</c>), and the first one's value (null when there is none). Runs for every request
    /// before anything else: a scan of the path, copied only when it holds the parameter.
    /// </summary>
    public static (string Path, string? Session) Strip(string path)
    {
        var at = MarkerAt(path, 0);
        if (at < 0)
        {
            return (path, null);
        }

        var end = ValueEnd(path, at);
        var session = path[(at + Marker.Length)..end];
        var next = MarkerAt(path, end);
        if (next < 0)
        {
            return (string.Concat(path.AsSpan(0, at), path.AsSpan(end)), session);
        }

        var stripped = new StringBuilder(path.Length).Append(path, 0, at);
        while (next >= 0)
        {
            stripped.Append(path, end, next - end);
            end = ValueEnd(path, next);
            next = MarkerAt(path, end);
        }

        return (stripped.Append(path, end, path.Length - end).ToString(), session);
    }

    /// <summary>Where the next parameter starts at or after <paramref name="start"/>, or -1.</summary>
    private static int MarkerAt(string path, int start)
    {
        for (var at = path.IndexOf(';', start); at >= 0; at = path.IndexOf(';', at + 1))
        {
            if (path.Length - at >= Marker.Length && Ascii.EqualsIgnoreCase(path.AsSpan(at, Marker.Length), Marker))
            {
                return at;
            }
        }

        return -1;
    }

    /// <summary>Where the value of the parameter starting at <paramref name="at"/> ends: the next <c>;</c> or <c>/</c>, or the path's end.</summary>
    private static int ValueEnd(string path, int at)
    {
        var value = at + Marker.Length;
        var length = path.AsSpan(value).IndexOfAny(';', '/');
        return length < 0 ? path.Length : value + length;
    }

    public static IApplicationBuilder UseSessionIdPathParameter(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            var fromServer = context.Features.Get<SecretRedaction.SecretsFeature>()?.PathSession;
            if (fromServer is not null)
            {
                context.Items[ItemKey] = fromServer;
            }

            var path = context.Request.Path.Value;
            if (path is not null)
            {
                var (stripped, session) = Strip(path);
                if (session is not null)
                {
                    context.Items.TryAdd(ItemKey, session);
                    context.Request.Path = new PathString(stripped);
                }
            }

            return next(context);
        });

    /// <summary>
    /// The session ids the request carries, in the order to try them: the path parameter wins over cookies. A
    /// browser signed in both through the loginservlet (<c>Path=/callrec</c>) and the JSON API (<c>Path=/</c>) sends
    /// two <c>JSESSIONID</c> cookies to <c>/callrec/...</c>, the longer path first, and either may be the live one.
    /// </summary>
    public static IReadOnlyList<string> SessionCandidates(this HttpContext context)
    {
        if (context.Items.TryGetValue(ItemKey, out var fromPath) && fromPath is string s)
        {
            return [s];
        }

        var candidates = new List<string>(1);
        foreach (var header in context.Request.Headers.Cookie)
        {
            foreach (var pair in (header ?? "").Split(';'))
            {
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0 && pair.AsSpan(0, eq).Trim().Equals("JSESSIONID", StringComparison.OrdinalIgnoreCase))
                {
                    var value = pair[(eq + 1)..].Trim().Trim('"');
                    if (value.Length > 0 && !candidates.Contains(value) && candidates.Count < 4)
                    {
                        candidates.Add(value);
                    }
                }
            }
        }

        return candidates;
    }
}
