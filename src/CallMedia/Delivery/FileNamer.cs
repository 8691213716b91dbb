using CallMedia.Calls;

namespace CallMedia.Delivery;

/// <summary>
/// Names the files of one delivery: the CallREC names (<see cref="EntryNames.For"/>) without a template, otherwise the
/// template's, made safe and unique within the delivery (a second <c>a.mp3</c> becomes <c>a (2).mp3</c>).
/// </summary>
public sealed class FileNamer
{
    private readonly FileNameTemplate? _template;
    private readonly HashSet<string> _used = new(StringComparer.OrdinalIgnoreCase) { CallDataManifest.FileName, CallDataManifest.JsonFileName };

    private FileNamer(FileNameTemplate? template, TimeZoneInfo zone)
    {
        _template = template;
        Zone = zone;
    }

    /// <summary>The zone of names and of <c>calldata.json</c>'s local times.</summary>
    public TimeZoneInfo Zone { get; }

    /// <summary>The token's template and zone, or the configured ones (both checked before: at issue, or at start).</summary>
    public static FileNamer For(DeliverySettings settings, DeliveryOptions options)
    {
        var template = options.Name ?? settings.FileNameTemplate;
        var zone = DeliveryOptions.FindZone(options.Tz ?? settings.TimeZone) ?? TimeZoneInfo.Utc;
        return new FileNamer(string.IsNullOrEmpty(template) ? null : FileNameTemplate.Parse(template), zone);
    }

    public string Name(Couple couple, int type, string format, int index, int count)
    {
        if (_template is null)
        {
            return EntryNames.For(couple.Id, couple.Sid, format, index, count);
        }

        var body = _template.Render(couple, type, Zone);
        for (var n = 1; ; n++)
        {
            var name = EntryNames.Templated(body, format, index, count, n == 1 ? "" : $" ({n})");
            if (_used.Add(name))
            {
                return name;
            }
        }
    }
}
