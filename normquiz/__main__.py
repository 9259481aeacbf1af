from normquiz.cli import main

main()
