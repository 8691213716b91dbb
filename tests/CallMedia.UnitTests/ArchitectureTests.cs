using System.Reflection;
using System.Reflection.Emit;
using CallMedia.App;

namespace CallMedia.UnitTests;

/// <summary>
/// The folder graph of docs/architecture.md, read from the compiled assembly: every type's namespace and every type
/// it names (base type, interfaces, fields, properties, method signatures, and the types, methods and fields its
/// method bodies use, decoded from IL). Compiler-made closures and state machines count for the type that wrote them.
/// </summary>
public sealed class ArchitectureTests
{
    private static readonly Assembly Product = typeof(ServerHost).Assembly;

    /// <summary>Folders at the bottom that no feature-specific code may depend on.</summary>
    private static readonly string[] Features = ["Auth", "Tokens", "Calls", "Media", "Delivery", "Audit", "Import"];

    /// <summary>The arrows docs/architecture.md forbids (besides any cycle).</summary>
    private static readonly (string From, string[] To, string Why)[] Forbidden =
    [
        ("Hosting", [.. Features, "Data", "Storage", "App", "Cli"], "Hosting is the shared HTTP layer at the bottom"),
        ("Data", [.. Features, "Hosting", "Storage", "App", "Cli"], "Data is the bottom: connection and migrations"),
        ("Storage", [.. Features, "Hosting", "App", "Cli"], "Storage is files only"),
        ("Media", ["Tokens", "Auth", "Delivery"], "Media knows nothing of tokens, sessions or HTTP answers"),
        ("Calls", ["Tokens", "Media", "Delivery", "Import"], "Calls is the couples and media files below every user of them"),
        ("Auth", ["Tokens", "Calls", "Media", "Delivery", "Import"], "Auth owns users and sessions; Tokens depends on it, not the reverse"),
        ("App", ["Cli"], "the composition root is below the command line"),
    ];

    [Fact]
    public void FolderGraph_HasNoCycle()
    {
        var graph = FolderGraph(Product);
        var cycles = StronglyConnected(graph).Where(c => c.Count > 1).ToList();
        Assert.True(cycles.Count == 0, "folder cycles: " + string.Join("; ", cycles.Select(c => string.Join(" ⇄ ", c.Order(StringComparer.Ordinal)) + " via " + Evidence(c))));
    }

    [Fact]
    public void FolderGraph_HasNoForbiddenArrow()
    {
        var graph = FolderGraph(Product);
        var features = new HashSet<string>(Features, StringComparer.Ordinal);
        var bad = new List<string>();
        foreach (var (from, targets) in graph)
        {
            foreach (var (to, witness) in targets)
            {
                if (Forbidden.FirstOrDefault(f => f.From == from && f.To.Contains(to)) is { Why: { } why })
                {
                    bad.Add($"{from} → {to} ({witness}): {why}");
                }
                else if (features.Contains(from) && to is "App" or "Cli" or "Program")
                {
                    bad.Add($"{from} → {to} ({witness}): features never reach up to the composition root or the command line");
                }
            }
        }

        Assert.True(bad.Count == 0, string.Join("\n", bad));
    }

    [Fact]
    public void FolderGraph_SeesMethodBodies()
    {
        // The arrow Cli → App exists only in a method body (ServeCommand builds the host): the reader must see it.
        Assert.Contains("App", FolderGraph(Product)["Cli"].Keys);
    }

    [Fact]
    public void FolderGraph_IsTheOneDocumented()
    {
        // docs/architecture.md lists the graph between "<!-- graph -->" markers, one "- From → To, To" line per folder.
        var doc = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "architecture.md"));
        var start = doc.IndexOf("<!-- graph -->", StringComparison.Ordinal);
        var end = doc.IndexOf("<!-- /graph -->", StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, "docs/architecture.md has no <!-- graph --> block");
        var documented = doc[start..end].Split('\n')
            .Where(l => l.StartsWith("- ", StringComparison.Ordinal))
            .Select(l => l[2..].Split('→'))
            .ToDictionary(p => p[0].Trim(' ', '`'), p => p.Length < 2 ? "" : string.Join(", ", p[1].Split(',').Select(t => t.Trim(' ', '`')).Where(t => t.Length > 0 && t != "nothing").Order(StringComparer.Ordinal)), StringComparer.Ordinal);
        var actual = FolderGraph(Product).ToDictionary(g => g.Key, g => string.Join(", ", g.Value.Keys.Order(StringComparer.Ordinal)), StringComparer.Ordinal);
        var lines = actual.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"- `{a.Key}` → {(a.Value.Length == 0 ? "nothing" : string.Join(", ", a.Value.Split(", ").Select(v => $"`{v}`")))}");
        Assert.True(
            documented.Count == actual.Count && actual.All(a => documented.TryGetValue(a.Key, out var d) && d == a.Value),
            "docs/architecture.md's graph is not the code's; the code's is:\n" + string.Join("\n", lines));
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "docs", "architecture.md")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }

    private static string Evidence(IReadOnlyCollection<string> cycle)
    {
        var graph = FolderGraph(Product);
        return string.Join(", ", cycle.SelectMany(f => graph[f].Where(t => cycle.Contains(t.Key)).Select(t => $"{f} → {t.Key} ({t.Value})")));
    }

    /// <summary>Folder → folder it uses → one example (type that uses → type used).</summary>
    internal static Dictionary<string, Dictionary<string, string>> FolderGraph(Assembly assembly)
    {
        var graph = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var type in assembly.GetTypes())
        {
            var from = Folder(type);
            if (from is null)
            {
                continue;
            }

            var edges = graph.TryGetValue(from, out var e) ? e : graph[from] = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var used in Uses(type).SelectMany(Flatten).Where(t => t.Assembly == assembly))
            {
                var to = Folder(used);
                if (to is not null && to != from && !edges.ContainsKey(to))
                {
                    edges[to] = $"{Outermost(type).FullName} uses {Outermost(used).FullName}";
                }
            }
        }

        return graph;
    }

    /// <summary>The folder of a type: the namespace segment after <c>CallMedia.</c> (<c>Delivery.Zip</c> is Delivery); the entry point is "Program".</summary>
    private static string? Folder(Type type)
    {
        var ns = Outermost(type).Namespace;
        if (ns is null)
        {
            return type.Assembly == Product && Outermost(type).Name == "Program" ? "Program" : null;
        }

        var parts = ns.Split('.');
        return parts.Length >= 2 && parts[0] == "CallMedia" ? parts[1] : null;
    }

    private static Type Outermost(Type type)
    {
        while (type.DeclaringType is { } outer)
        {
            type = outer;
        }

        return type;
    }

    private static IEnumerable<Type> Flatten(Type type)
    {
        if (type.HasElementType)
        {
            foreach (var t in Flatten(type.GetElementType()!))
            {
                yield return t;
            }

            yield break;
        }

        if (type.IsGenericParameter)
        {
            yield break;
        }

        yield return type.IsGenericType ? type.GetGenericTypeDefinition() : type;
        if (type.IsGenericType && !type.IsGenericTypeDefinition)
        {
            foreach (var t in type.GetGenericArguments().SelectMany(Flatten))
            {
                yield return t;
            }
        }
    }

    private const BindingFlags Everything = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static IEnumerable<Type> Uses(Type type)
    {
        if (type.BaseType is { } baseType)
        {
            yield return baseType;
        }

        foreach (var i in type.GetInterfaces())
        {
            yield return i;
        }

        foreach (var f in type.GetFields(Everything))
        {
            yield return f.FieldType;
        }

        foreach (var p in type.GetProperties(Everything))
        {
            yield return p.PropertyType;
        }

        foreach (var m in type.GetMethods(Everything).Cast<MethodBase>().Concat(type.GetConstructors(Everything)))
        {
            if (m is MethodInfo mi)
            {
                yield return mi.ReturnType;
            }

            foreach (var p in m.GetParameters())
            {
                yield return p.ParameterType;
            }

            foreach (var t in BodyUses(m))
            {
                yield return t;
            }
        }
    }

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    /// <summary>The types a method body names: the operands of call, newobj, ldfld, ldtoken, castclass, box and the rest.</summary>
    private static IEnumerable<Type> BodyUses(MethodBase method)
    {
        var il = method.GetMethodBody()?.GetILAsByteArray();
        if (il is null)
        {
            yield break;
        }

        var typeArgs = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        var methodArgs = method.IsGenericMethod ? method.GetGenericArguments() : null;
        var at = 0;
        while (at < il.Length)
        {
            short value = il[at++];
            if (value == 0xFE)
            {
                value = (short)(0xFE00 | il[at++]);
            }

            var op = OpCodesByValue[value];
            var size = op.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + (4 * BitConverter.ToInt32(il, at)),
                _ => 4,
            };
            if (op.OperandType is OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineType or OperandType.InlineTok)
            {
                var member = Resolve(method.Module, BitConverter.ToInt32(il, at), typeArgs, methodArgs);
                switch (member)
                {
                    case Type t:
                        yield return t;
                        break;
                    case FieldInfo f:
                        yield return f.DeclaringType!;
                        yield return f.FieldType;
                        break;
                    case MethodBase m:
                        yield return m.DeclaringType!;
                        if (m is MethodInfo mi)
                        {
                            yield return mi.ReturnType;
                            foreach (var g in mi.IsGenericMethod ? mi.GetGenericArguments() : [])
                            {
                                yield return g;
                            }
                        }

                        foreach (var p in m.GetParameters())
                        {
                            yield return p.ParameterType;
                        }

                        break;
                }
            }

            at += size;
        }
    }

    private static MemberInfo? Resolve(Module module, int token, Type[]? typeArgs, Type[]? methodArgs)
    {
        try
        {
            return module.ResolveMember(token, typeArgs, methodArgs);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>Tarjan's strongly connected components of the folder graph.</summary>
    private static List<List<string>> StronglyConnected(Dictionary<string, Dictionary<string, string>> graph)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var low = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<List<string>>();
        var next = 0;

        void Visit(string v)
        {
            index[v] = low[v] = next++;
            stack.Push(v);
            onStack.Add(v);
            foreach (var w in graph.TryGetValue(v, out var e) ? e.Keys : Enumerable.Empty<string>())
            {
                if (!index.ContainsKey(w))
                {
                    Visit(w);
                    low[v] = Math.Min(low[v], low[w]);
                }
                else if (onStack.Contains(w) && index.TryGetValue(w, out var wIndex))
                {
                    low[v] = Math.Min(low[v], wIndex);
                }
            }

            if (low[v] == index[v])
            {
                var component = new List<string>();
                string w;
                do
                {
                    w = stack.Pop();
                    onStack.Remove(w);
                    component.Add(w);
                }
                while (w != v);
                result.Add(component);
            }
        }

        foreach (var v in graph.Keys)
        {
            if (!index.ContainsKey(v))
            {
                Visit(v);
            }
        }

        return result;
    }
}
