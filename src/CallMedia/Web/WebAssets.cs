using System.Collections.Frozen;
using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using Microsoft.Net.Http.Headers;

namespace CallMedia.Web;

/// <summary>One static file of the web app, with its Brotli and gzip forms made once at start.</summary>
public sealed record WebAsset(string Name, string ContentType, byte[] Identity, byte[] Brotli, byte[] Gzip, string ETag);

/// <summary>
/// The web app's scripts, styles and pages, embedded in the executable (no second server, no CDN). Each is
/// compressed once when the server starts, and sent in the best encoding the browser accepts, with a strong ETag
/// so a revisit costs a 304.
/// </summary>
public sealed class WebAssets
{
    private const string Prefix = "web/";

    private readonly FrozenDictionary<string, WebAsset> _assets;

    public WebAssets()
    {
        var assembly = typeof(WebAssets).Assembly;
        var assets = new Dictionary<string, WebAsset>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            var name = resource[Prefix.Length..];
            var etag = "\"" + Convert.ToHexString(SHA256.HashData(bytes))[..20].ToLowerInvariant() + "\"";
            assets[name] = new WebAsset(name, ContentTypeOf(name), bytes, Compress(bytes, s => new BrotliStream(s, CompressionLevel.SmallestSize)), Compress(bytes, s => new GZipStream(s, CompressionLevel.SmallestSize)), etag);
        }

        _assets = assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public WebAsset? Find(string name) => _assets.GetValueOrDefault(name);

    /// <summary>Sends an asset: 304 when the browser has it, else the smallest encoding it accepts.</summary>
    public static async Task SendAsync(HttpContext context, WebAsset asset, string cacheControl)
    {
        var response = context.Response;
        response.Headers.ETag = asset.ETag;
        response.Headers.CacheControl = cacheControl;
        response.Headers.Vary = HeaderNames.AcceptEncoding;
        response.Headers.XContentTypeOptions = "nosniff";
        if (context.Request.Headers.IfNoneMatch.Any(v => v is not null && v.Split(',').Any(t => t.Trim() == asset.ETag || t.Trim() == "*")))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        var encoding = Choose(context.Request.Headers.AcceptEncoding.ToString());
        var body = encoding switch { "br" => asset.Brotli, "gzip" => asset.Gzip, _ => asset.Identity };
        if (encoding is not null)
        {
            response.Headers.ContentEncoding = encoding;
        }

        response.ContentType = asset.ContentType;
        response.ContentLength = body.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await response.Body.WriteAsync(body, context.RequestAborted);
        }
    }

    /// <summary>
    /// The coding to send for an Accept-Encoding value: the one of <c>br</c>, <c>gzip</c> and none (identity) the client
    /// prefers most (RFC 9110 §12.5.3: its q, or the <c>*</c> entry's), br before gzip before none when they are equal;
    /// null for none.
    /// </summary>
    internal static string? Choose(string acceptEncoding)
    {
        var (best, bestQuality) = ((string?)null, Quality(acceptEncoding, "identity"));
        foreach (var coding in (string[])["gzip", "br"])
        {
            var quality = Quality(acceptEncoding, coding);
            if (quality > 0 && quality >= bestQuality)
            {
                (best, bestQuality) = (coding, quality);
            }
        }

        return best;
    }

    private const double IdentityUnlisted = 0.0001;

    /// <summary>
    /// How much an Accept-Encoding value wants a coding, 0 to 1: its own entry's q (1 without one), else the <c>*</c>
    /// entry's, else 0 — for identity, not named, acceptable but after any coding named. A q that is not a number from
    /// 0 to 1 counts as 0.
    /// </summary>
    internal static double Quality(string acceptEncoding, string coding)
    {
        double? own = null, any = null;
        foreach (var entry in acceptEncoding.Split(','))
        {
            var parts = entry.Split(';');
            var name = parts[0].Trim();
            var quality = 1.0;
            foreach (var parameter in parts.Skip(1).Select(p => p.Trim()))
            {
                if (parameter.StartsWith("q=", StringComparison.OrdinalIgnoreCase))
                {
                    // "NaN" and "Infinity" parse whatever the style: the range check refuses them.
                    quality = double.TryParse(parameter.AsSpan(2), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var q) && q is >= 0 and <= 1 ? q : 0;
                }
            }

            if (name.Equals(coding, StringComparison.OrdinalIgnoreCase))
            {
                own = Math.Max(own ?? 0, quality);
            }
            else if (name == "*")
            {
                any = quality;
            }
        }

        return own ?? any ?? (coding == "identity" ? IdentityUnlisted : 0);
    }

    private static byte[] Compress(byte[] bytes, Func<Stream, Stream> encoder)
    {
        using var output = new MemoryStream();
        using (var stream = encoder(output))
        {
            stream.Write(bytes);
        }

        return output.ToArray();
    }

    private static string ContentTypeOf(string name) => Path.GetExtension(name) switch
    {
        ".js" => "text/javascript;charset=utf-8",
        ".css" => "text/css;charset=utf-8",
        ".html" => "text/html;charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        ".txt" => "text/plain;charset=utf-8",
        _ => "application/octet-stream",
    };
}
