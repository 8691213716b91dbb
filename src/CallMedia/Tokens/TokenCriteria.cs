using System.Globalization;
using CallMedia.Auth;
using CallMedia.Calls;
using CallMedia.Hosting;

namespace CallMedia.Tokens;

public enum TokenAction
{
    Stream,
    Download,
    Prepare,
}

/// <summary>What a token was asked for: the couples (by ids or by one sid), the media type and the action.</summary>
public sealed record TokenCriteria(IReadOnlyList<long> CoupleIds, string? Sid, int Type, TokenAction Action)
{
    public static string ActionName(TokenAction action) => action switch
    {
        TokenAction.Download => "download",
        TokenAction.Prepare => "prepare",
        _ => "stream",
    };

    public static TokenAction ParseAction(string? value) => value switch
    {
        "download" => TokenAction.Download,
        "prepare" => TokenAction.Prepare,
        _ => TokenAction.Stream,
    };

    public string RequiredRight => RightFor(Type, Action);

    /// <summary>The right a (type, action) pair needs (API.md §5), at token time and again at send time.</summary>
    public static string RightFor(int type, TokenAction action) => (type, action) switch
    {
        (MediaType.Audio, TokenAction.Download) => Rights.AudioDownload,
        (MediaType.Audio, _) => Rights.AudioStream,
        (_, TokenAction.Download) => Rights.VideoDownload,
        (_, TokenAction.Prepare) => Rights.VideoPrepare,
        _ => Rights.VideoStream,
    };

    /// <summary>
    /// Parses the Download Token Service parameters. <c>id_call[]</c> and its synonym <c>call_id[]</c> may repeat
    /// and hold comma-separated ids; <c>sid</c>, when given, wins over both. Throws <see cref="ParameterException"/>.
    /// </summary>
    public static TokenCriteria Parse(CallRecParameters p, int maxIds)
    {
        var typeText = p.One("type");
        int type;
        if (string.IsNullOrEmpty(typeText))
        {
            type = MediaType.Audio;
        }
        else if (!int.TryParse(typeText, NumberStyles.None, CultureInfo.InvariantCulture, out type))
        {
            throw new ParameterException("type must be 1 (audio) or 16 (video)");
        }

        var action = ParseAction(p.One("action"));
        CheckTypeAndAction(type, action);

        var sid = p.One("sid");
        if (!string.IsNullOrEmpty(sid))
        {
            if (sid.Length > 255 || sid.Any(char.IsControl))
            {
                throw new ParameterException("sid is not valid");
            }

            return new TokenCriteria([], sid, type, action);
        }

        var ids = ParseIds([.. p.All("id_call[]"), .. p.All("call_id[]")], maxIds);
        if (ids.Count == 0)
        {
            throw new ParameterException("id_call[] or sid is required");
        }

        return ForIds(ids, type, action);
    }

    /// <summary>Criteria for couple ids (already parsed and deduplicated); throws <see cref="ParameterException"/> for a combination no token serves.</summary>
    public static TokenCriteria ForIds(IReadOnlyList<long> ids, int type, TokenAction action)
    {
        CheckTypeAndAction(type, action);
        if (ids.Count > 1 && action != TokenAction.Download)
        {
            throw new ParameterException($"{ActionName(action)} takes exactly one couple");
        }

        return new TokenCriteria(ids, null, type, action);
    }

    private static void CheckTypeAndAction(int type, TokenAction action)
    {
        if (type is not (MediaType.Audio or MediaType.Video))
        {
            throw new ParameterException("type must be 1 (audio) or 16 (video)");
        }

        if (action == TokenAction.Prepare && type != MediaType.Video)
        {
            throw new ParameterException("action=prepare needs type=16");
        }
    }

    /// <summary>Ids in the order first given, duplicates dropped.</summary>
    public static IReadOnlyList<long> ParseIds(IEnumerable<string?> values, int maxIds)
    {
        var ids = new List<long>();
        var seen = new HashSet<long>();
        foreach (var value in values)
        {
            foreach (var part in (value ?? "").Split(','))
            {
                var text = part.Trim();
                if (text.Length == 0)
                {
                    continue;
                }

                if (text.Length > 18 || !long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id <= 0)
                {
                    throw new ParameterException("couple ids must be positive integers");
                }

                if (seen.Add(id))
                {
                    ids.Add(id);
                    if (ids.Count > maxIds)
                    {
                        throw new ParameterException($"at most {maxIds} couple ids per token");
                    }
                }
            }
        }

        return ids;
    }
}
