using System.Text.RegularExpressions;

namespace CallMedia.Hosting;

/// <summary>
/// Takes every <c>;jsessionid=...</c> (any case) off the request path before routing, so
/// <c>/callrec/sendcallfile.mp3;jsessionid=X</c> routes as <c>/callrec/sendcallfile.mp3</c>, and keeps the first value
/// as the request's session candidate. Players fetch media without cookies, which is why this exists. The server
/// already strips the path where it hands the request over (<see cref="SecretRedaction"/>), before anything logs it;
/// the middleware covers a host built without that.
/// </summary>
public static partial class SessionIdPathParameter
{
    private const string ItemKey = "callmedia.path-session";

    [GeneratedRegex(";jsessionid=([^;/]*)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex PathParameter();

    /// <summary>The path without any <c>;jsessionid=</c> parameter, and the first one's value (null when there is none).</summary>
    public static (string Path, string? Session) Strip(string path)
    {
        if (!path.Contains(';', StringComparison.Ordinal))
        {
            return (path, null);
        }

        var match = PathParameter().Match(path);
        return match.Success ? (PathParameter().Replace(path, ""), match.Groups[1].Value) : (path, null);
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
