package shelf.esrunner;

import java.util.Map;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.cjk.CJKAnalyzer;
import org.apache.lucene.analysis.cjk.CJKBigramFilter;
import org.apache.lucene.analysis.cjk.CJKWidthFilter;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.index.IndexSettings;
import org.elasticsearch.index.analysis.AbstractIndexAnalyzerProvider;
import org.elasticsearch.index.analysis.AbstractTokenFilterFactory;
import org.elasticsearch.index.analysis.Analysis;
import org.elasticsearch.index.analysis.AnalyzerProvider;
import org.elasticsearch.index.analysis.NormalizingTokenFilterFactory;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

/**
 * Registers the CJK analysis components that a stock Elasticsearch 8 gets from its
 * analysis-common module. That module is not published to Maven Central for 8.x, so the
 * runner registers the same Lucene classes under the same names:
 * analyzer "cjk" (Lucene CJKAnalyzer, optional "stopwords"/"stopwords_path"),
 * token filters "cjk_width" and "cjk_bigram" (options "ignored_scripts", "output_unigrams").
 */
public class CjkAnalysisPlugin extends Plugin implements AnalysisPlugin {

    @Override
    public Map<String, AnalysisProvider<AnalyzerProvider<? extends org.apache.lucene.analysis.Analyzer>>> getAnalyzers() {
        return Map.of("cjk", CjkAnalyzerProvider::new);
    }

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        return Map.of(
            "cjk_width", CjkWidthFilterFactory::new,
            "cjk_bigram", CjkBigramFilterFactory::new);
    }

    static final class CjkAnalyzerProvider extends AbstractIndexAnalyzerProvider<CJKAnalyzer> {
        private final CJKAnalyzer analyzer;

        CjkAnalyzerProvider(IndexSettings indexSettings, Environment env, String name, Settings settings) {
            super(name, settings);
            analyzer = new CJKAnalyzer(Analysis.parseStopWords(env, settings, CJKAnalyzer.getDefaultStopSet()));
        }

        @Override
        public CJKAnalyzer get() {
            return analyzer;
        }
    }

    static final class CjkWidthFilterFactory extends AbstractTokenFilterFactory implements NormalizingTokenFilterFactory {
        CjkWidthFilterFactory(IndexSettings indexSettings, Environment env, String name, Settings settings) {
            super(name, settings);
        }

        @Override
        public TokenStream create(TokenStream in) {
            return new CJKWidthFilter(in);
        }
    }

    static final class CjkBigramFilterFactory extends AbstractTokenFilterFactory {
        private final int flags;
        private final boolean outputUnigrams;

        CjkBigramFilterFactory(IndexSettings indexSettings, Environment env, String name, Settings settings) {
            super(name, settings);
            int f = CJKBigramFilter.HAN | CJKBigramFilter.HIRAGANA | CJKBigramFilter.KATAKANA | CJKBigramFilter.HANGUL;
            for (String script : settings.getAsList("ignored_scripts")) {
                switch (script.toLowerCase(java.util.Locale.ROOT)) {
                    case "han" -> f &= ~CJKBigramFilter.HAN;
                    case "hiragana" -> f &= ~CJKBigramFilter.HIRAGANA;
                    case "katakana" -> f &= ~CJKBigramFilter.KATAKANA;
                    case "hangul" -> f &= ~CJKBigramFilter.HANGUL;
                    default -> throw new IllegalArgumentException("unknown script [" + script + "] in ignored_scripts");
                }
            }
            flags = f;
            outputUnigrams = settings.getAsBoolean("output_unigrams", false);
        }

        @Override
        public TokenStream create(TokenStream in) {
            return new CJKBigramFilter(in, flags, outputUnigrams);
        }
    }
}
