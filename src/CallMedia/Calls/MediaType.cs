namespace CallMedia.Calls;

/// <summary>Media type bits (API.md §Vocabulary); a couple keeps the OR of its files' types.</summary>
public static class MediaType
{
    public const int Audio = 1;
    public const int Video = 16;
    public const int Recd = 32;

    public static IReadOnlyList<string> Names(long types)
    {
        var names = new List<string>(3);
        if ((types & Audio) != 0)
        {
            names.Add("audio");
        }

        if ((types & Video) != 0)
        {
            names.Add("video");
        }

        if ((types & Recd) != 0)
        {
            names.Add("recd");
        }

        return names;
    }

    public static int? Parse(string name) => name switch
    {
        "audio" => Audio,
        "video" => Video,
        "recd" => Recd,
        _ => null,
    };
}
